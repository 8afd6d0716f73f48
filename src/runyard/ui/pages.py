"""The UI's server-rendered pages (owned by the pages' author; `create_app` includes
`router`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
