"""The `runyard` command: create a workspace, submit scripts, look at runs.

The package is the root group (`cli`, here) and one module per command group: `runs`
(init, submit, runs, logs, metrics, download, cancel), `compute`, `data` (datastore),
`env`, `models`; `state` holds the object every command gets, `util` the command classes
and output helpers they share.

Invariants:
- Every command finds its workspace with `Workspace.from_config()`, from the current
  folder or from `--workspace` / `RUNYARD_WORKSPACE` (`state.State`).
- A runyard error (and a FileNotFoundError, KeyError or other OSError from runyard) ends
  the command with exit code 2 and one line `error: ...` on stderr, never a traceback,
  written with the command's options where the SDK's message names its arguments
  (`util.RunyardCommand`).
- Command modules import `state` and `util`, never this module, so no import cycle goes
  through the root group.
- Importing this package loads click and rich, not SQLAlchemy: the run history is opened
  by the command that needs it.
"""

from __future__ import annotations

from pathlib import Path

import click

from runyard import __version__
from runyard.cli import compute, data, env, models, runs, ui
from runyard.cli import tensorboard as tensorboard_command
from runyard.cli.state import State
from runyard.cli.util import RunyardGroup
from runyard.hyperdrive import _cli as hyperdrive

# The root's commands and groups. A new command or group lives in a module of its own in
# this package (importing `state` and `util`, not this module) and gets one line here.
COMMANDS: tuple[click.Command, ...] = (
    runs.init,
    runs.submit,
    runs.runs,
    runs.logs,
    runs.metrics,
    runs.download,
    runs.cancel,
    compute.compute,
    data.datastore,
    env.env,
    models.models,
    hyperdrive.hyperdrive,  # runyard.hyperdrive's own group (show, replay)
    tensorboard_command.tensorboard,
    ui.ui,  # the web UI and REST API (runyard.ui)
)


@click.group(cls=RunyardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "workspace_path", type=click.Path(path_type=Path),
              envvar="RUNYARD_WORKSPACE", show_envvar=True,
              help="Workspace folder (or its config.json); default: found from the "
                   "current folder upwards.")
@click.version_option(__version__, prog_name="runyard")
@click.pass_context
def cli(ctx: click.Context, workspace_path: Path | None) -> None:
    """Train models on your own machines, the Azure ML v1 way."""
    ctx.obj = State(workspace_path)


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """The console script `runyard`."""
    cli.main(prog_name="runyard")


__all__ = ["COMMANDS", "cli", "main"]
