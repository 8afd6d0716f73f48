"""`create_app(workspace, token=...)`: the FastAPI app of `runyard ui`.

The app is the REST API under `/api/v1/` (`runyard.ui.api`) and, where the module is
there, the pages (`runyard.ui.pages.router`, with its static files mounted by that module
itself through its `setup(app)` function if it has one), behind one access check
(`runyard.ui._auth`).

Invariants:
- Everything the app reads it reads through the workspace (its store and artifact store),
  the way the SDK does; `app.state.workspace` is that workspace, `app.state.auth` the
  access settings (token, CSRF token) the pages need.
- runyard's errors leave the API as JSON `{"error": <class name>, "message": ...}` with
  404 (not found), 400 (bad input), 409 (a conflict) or 503 (the store is unavailable).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from fastapi import FastAPI

from runyard import __version__
from runyard.ui import _auth, api

if TYPE_CHECKING:
    from runyard.workspace import Workspace


def create_app(workspace: Workspace, *, token: str | None = None,
               loopback_only: bool = True) -> FastAPI:
    """The app serving `workspace`. With `token`, every request must carry it
    (`Authorization: Bearer TOKEN`, or the cookie a page sets from `?token=`); without,
    the app answers only requests addressed to a loopback name (`loopback_only`: a DNS
    rebinding page cannot reach it) and mutating calls need the per-app CSRF token."""
    app = FastAPI(title="runyard", version=__version__,
                  description="The run history of a runyard workspace: experiments, runs, "
                              "metrics, logs, files, models and compute targets.",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/v1/openapi.json")
    app.state.workspace = workspace
    app.state.auth = _auth.Auth(token=token, loopback_only=loopback_only)
    _auth.install(app)
    api.install(app)
    pages = _pages_module()
    if pages is not None:
        app.include_router(getattr(pages, "router"))  # noqa: B009 - a module found at run time
        setup = getattr(pages, "setup", None)
        if callable(setup):
            setup(app)
    return app


def _pages_module() -> ModuleType | None:
    """`runyard.ui.pages` if it is there (the API serves without it)."""
    try:
        return importlib.import_module("runyard.ui.pages")
    except ModuleNotFoundError as e:
        if e.name != "runyard.ui.pages":
            raise
        return None
