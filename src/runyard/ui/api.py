"""The REST API under `/api/v1/` (filled in below)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request

router = APIRouter(prefix="/api/v1")


@router.get("/experiments", summary="Experiments")
def experiments(request: Request) -> list[dict[str, Any]]:
    return request.app.state.workspace.store.list_experiments()  # type: ignore[no-any-return]


def install(app: FastAPI) -> None:
    app.include_router(router)
