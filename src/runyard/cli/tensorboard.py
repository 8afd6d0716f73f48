"""`runyard tensorboard RUN...`: TensorBoard over runs' event files until Ctrl-C
(`runyard.tensorboard.Tensorboard`)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runyard.cli.util import RunyardCommand

if TYPE_CHECKING:
    from runyard.cli.state import State


@click.command(cls=RunyardCommand, sdk_names={"local_root": "--local-root"})
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN...")
@click.option("--port", type=int, default=6006, show_default=True,
              help="TensorBoard's port on 127.0.0.1 (0: any free one).")
@click.option("--local-root", type=click.Path(path_type=Path),
              help="Where the event files are copied (kept); default: a temporary folder, "
                   "removed at exit.")
@click.option("--metrics/--no-metrics", default=True, show_default=True,
              help="Also show the runs' runyard metrics (run.log) as scalars.")
@click.option("--display-names", is_flag=True,
              help="Name each run in TensorBoard by its display name, not its id.")
@click.pass_obj
def tensorboard(state: State, run_ids: tuple[str, ...], port: int, local_root: Path | None,
                metrics: bool, display_names: bool) -> None:
    """TensorBoard over the runs' event files (logs/ and outputs/), following active runs
    as they write. Prints the address; Ctrl-C stops it."""
    from runyard.tensorboard import Tensorboard

    runs = [state.run(run_id) for run_id in run_ids]
    board = Tensorboard(runs, local_root=local_root, port=port,
                        use_display_name=display_names, metrics=metrics)
    url = board.start()
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        click.echo(f"TensorBoard for {len(runs)} run(s) at {url} (Ctrl-C stops it)")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        board.stop()
    click.echo("TensorBoard stopped")
