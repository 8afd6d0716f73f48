"""`runyard ui`: serve the workspace's web UI and REST API (runyard.ui.server)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from runyard.cli.util import RunyardCommand

if TYPE_CHECKING:
    from runyard.cli.state import State

DEFAULT_PORT = 8765  # runyard.ui.server.DEFAULT_PORT (not imported: it loads no FastAPI here)


@click.command(cls=RunyardCommand)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but loopback needs a token (one is made "
                   "and kept in the workspace if --token is not given).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT,
              show_default=True, envvar="RUNYARD_UI_PORT", show_envvar=True,
              help="Port (8765: clashes with neither MLflow's 5000 nor Ray's dashboard "
                   "8265; 0 picks a free one).")
@click.option("--token", envvar="RUNYARD_UI_TOKEN", show_envvar=True,
              help="Require this token on every request (header 'Authorization: Bearer "
                   "TOKEN', or ?token=TOKEN once in a browser).")
@click.option("--workspace", "workspace_path", type=click.Path(path_type=Path),
              help="Workspace folder (default: the root option's, or found from here).")
@click.pass_obj
def ui(state: State, host: str, port: int, token: str | None,
       workspace_path: Path | None) -> None:
    """Serve the web UI and REST API (/api/v1/) until Ctrl-C."""
    from runyard.ui.server import serve
    from runyard.workspace import Workspace

    workspace = Workspace.from_config(workspace_path) if workspace_path is not None \
        else state.workspace()
    serve(workspace, host=host, port=port, token=token)
