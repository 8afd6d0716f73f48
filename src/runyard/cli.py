"""The `runyard` command: create a workspace, submit scripts, look at runs.

Invariants:
- Every command finds its workspace with `Workspace.from_config()`, from the current
  folder or from `--workspace` / `RUNYARD_WORKSPACE`.
- A runyard error (and a FileNotFoundError, KeyError or other OSError from runyard) ends
  the command with exit code 2 and one line `error: ...` on stderr, never a traceback.
  `submit` exits 1 when the run it followed ended Failed or Canceled, 130 on Ctrl-C.
- Ctrl-C only stops *watching* a run; runs are canceled by `runyard cancel` alone.
- Importing this module loads click and rich, not SQLAlchemy: the run history is opened
  by the command that needs it.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

from runyard import __version__, _status
from runyard._cli_util import Failure, human_size, local_time, make_console, print_rich
from runyard.errors import RunyardError

if TYPE_CHECKING:
    from runyard.run import Run
    from runyard.workspace import Workspace

FOLLOW_SECONDS = 0.25
INTERRUPTED = 130  # the shell's code for "ended by SIGINT"
_STATUS_STYLES = {_status.COMPLETED: "green", _status.FAILED: "red",
                  _status.CANCELED: "yellow", _status.RUNNING: "cyan"}


# -- plumbing ------------------------------------------------------------------------------
def _message(error: BaseException) -> str:
    if isinstance(error, KeyError) and not isinstance(error, RunyardError) and error.args:
        return str(error.args[0])  # KeyError's str() is the repr of its key
    return str(error) or type(error).__name__


class _RunyardGroup(click.Group):
    """The root group: turns runyard's errors into `error: ...` and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # click's main() quiets a closed pipe (`runyard logs ... | head`)
        except (RunyardError, OSError, KeyError) as e:
            raise Failure(_message(e)) from e


@dataclass
class _State:
    workspace_path: Path | None
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from runyard.workspace import Workspace

            self._workspace = Workspace.from_config(self.workspace_path)
            click.get_current_context().find_root().call_on_close(self._workspace.store.close)
        return self._workspace

    def run(self, run_id: str) -> Run:
        from runyard.run import Run

        return Run.get(self.workspace(), run_id)


def _status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def _iso_timestamp(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _run_duration(row: dict[str, Any]) -> float | None:
    start = row["start_time"]
    if start is None:
        return None
    end = row["end_time"] if row["status"] in _status.TERMINAL else time.time()
    return None if end is None else max(0.0, end - start)


def _value(value: Any) -> str:
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


# -- the command group ---------------------------------------------------------------------
@click.group(cls=_RunyardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "workspace_path", type=click.Path(path_type=Path),
              envvar="RUNYARD_WORKSPACE", show_envvar=True,
              help="Workspace folder (or its config.json); default: found from the "
                   "current folder upwards.")
@click.version_option(__version__, prog_name="runyard")
@click.pass_context
def cli(ctx: click.Context, workspace_path: Path | None) -> None:
    """Train models on your own machines, the Azure ML v1 way."""
    ctx.obj = _State(workspace_path)


def _add_subcommands() -> None:
    from runyard._cli_compute import compute
    from runyard._cli_data import datastore
    from runyard._cli_env import env
    from runyard._cli_models import models

    cli.add_command(env)
    cli.add_command(models)
    cli.add_command(datastore)
    cli.add_command(compute)


_add_subcommands()


def main() -> None:
    """The console script `runyard`."""
    cli.main(prog_name="runyard")


def _sanitized_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", folder.name).strip("-")[:255]
    return name or "workspace"


@cli.command()
@click.argument("name", required=False)
@click.option("--path", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create the workspace in; default: --workspace, or here.")
@click.option("--exist-ok", is_flag=True, help="Use the workspace if one is there already.")
@click.pass_obj
def init(state: _State, name: str | None, path: Path | None, exist_ok: bool) -> None:
    """Create a workspace (NAME defaults to the folder's name)."""
    from runyard.errors import WorkspaceExistsError
    from runyard.workspace import CONFIG_DIR, CONFIG_FILE, Workspace

    folder = (path or state.workspace_path or Path.cwd()).resolve()
    existed = (folder / CONFIG_DIR / CONFIG_FILE).is_file()
    try:
        workspace = Workspace.create(name or _sanitized_name(folder), path=folder,
                                     exist_ok=exist_ok)
    except WorkspaceExistsError as e:
        raise Failure(f"a workspace already exists in {folder}; pass --exist-ok to "
                       f"use it") from e
    workspace.store.close()
    verb = "using existing" if existed else "created"
    click.echo(f"{verb} workspace {workspace.name!r} at {workspace.path}")


# -- submit --------------------------------------------------------------------------------
def _parse_tags(values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="'--tag'")
        tags[key] = text
    return tags


def _source_and_script(script: str, source_dir: Path | None) -> tuple[Path, str]:
    """The source folder and the script's path inside it: SCRIPT is taken relative to
    --source-dir when it is there, else relative to the current folder."""
    given = Path(script)
    if source_dir is None:
        resolved = given.resolve()
        return resolved.parent, resolved.name
    source = source_dir.resolve()
    if not given.is_absolute() and (source / given).is_file():
        return source, given.as_posix()
    resolved = given.resolve()
    if resolved.is_relative_to(source):
        return source, resolved.relative_to(source).as_posix()
    return source, script  # ScriptRunConfig says what is wrong with it


@cli.command(context_settings={"show_default": True})
@click.argument("script")
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
@click.option("--source-dir", type=click.Path(path_type=Path),
              help="Folder to snapshot and run in  [default: the script's folder]")
@click.option("--experiment", "experiment_name", default="default", help="Experiment name.")
@click.option("--compute", default="local", help="Compute target name.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag the run (repeat).")
@click.option("--no-wait", is_flag=True, help="Print the run id and return at once.")
@click.pass_obj
@click.pass_context
def submit(ctx: click.Context, state: _State, script: str, arguments: tuple[str, ...],
           source_dir: Path | None, experiment_name: str, compute: str,
           tags: tuple[str, ...], no_wait: bool) -> None:
    """Run SCRIPT with ARGUMENTS (after `--`) and follow its output.

    Exits 1 when the run ends Failed or Canceled. Ctrl-C stops following; the run goes on.

    Example: runyard submit train.py --experiment mnist -- --epochs 3
    """
    from runyard.experiment import Experiment
    from runyard.train import ScriptRunConfig

    tag_values = _parse_tags(tags)
    source, script_path = _source_and_script(script, source_dir)
    config = ScriptRunConfig(source_directory=source, script=script_path,
                             arguments=list(arguments), compute_target=compute)
    run = Experiment(state.workspace(), experiment_name).submit(config, tags=tag_values)
    click.echo(run.id)
    if no_wait:
        return
    try:
        details = run.wait_for_completion(show_output=True, raise_on_error=False)
    except KeyboardInterrupt:
        click.echo(f"\nstopped following run {run.id}; it goes on. Follow it with "
                   f"`runyard logs --follow {run.id}`, cancel it with "
                   f"`runyard cancel {run.id}`.", err=True)
        ctx.exit(INTERRUPTED)
    if details["status"] != _status.COMPLETED:
        ctx.exit(1)


# -- runs ----------------------------------------------------------------------------------
@cli.group()
def runs() -> None:
    """List runs and show one."""


@runs.command("list")
@click.option("--experiment", "experiment_name", help="Only this experiment's runs.")
@click.option("--status", type=click.Choice(_status.LIFECYCLE, case_sensitive=False),
              help="Only runs in this status.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many runs, newest first.")
@click.pass_obj
def list_runs(state: _State, experiment_name: str | None, status: str | None,
              limit: int) -> None:
    """The newest runs, as a table."""
    from runyard.run import reconcile

    workspace = state.workspace()
    rows = workspace.store.list_runs(experiment=experiment_name, status=status, limit=limit)
    rows = [reconcile(workspace, row) for row in rows]
    if status is not None:  # reconcile may have ended a run that was active
        rows = [row for row in rows if row["status"] == status]
    if not rows:
        click.echo("no runs", err=True)
        return
    table = Table("id", "experiment", "status", "started", "duration", box=None,
                  pad_edge=False)
    for row in rows:
        table.add_row(row["id"], row["experiment"], _status_text(row["status"]),
                      local_time(row["start_time"]), _duration(_run_duration(row)))
    print_rich(table)


def _key_values(title: str, values: dict[str, str | None]) -> None:
    if values:
        click.echo(f"\n{title}")
        for key, value in values.items():
            click.echo(f"  {key}" if value is None else f"  {key}={value}")


@runs.command("show")
@click.argument("run_id")
@click.pass_obj
def show_run(state: _State, run_id: str) -> None:
    """A run's status, error, tags, properties, stages and files."""
    run = state.run(run_id)
    details = run.get_details()
    row = run.workspace.store.get_run(run.id)
    summary = Table.grid(padding=(0, 2))
    summary.add_row("run", run.id)
    summary.add_row("experiment", details["experiment"])
    summary.add_row("status", _status_text(details["status"]))
    summary.add_row("target", details["target"] or "-")
    definition = details["runDefinition"]
    if definition.get("script"):
        summary.add_row("script", " ".join([definition["script"],
                                            *definition.get("arguments", [])]))
    summary.add_row("submitted", local_time(row["created_at"]))
    summary.add_row("started", local_time(row["start_time"]))
    summary.add_row("ended", local_time(row["end_time"]))
    summary.add_row("duration", _duration(_run_duration(row)))
    if "error" in details:
        summary.add_row("error", Text(details["error"]["error"]["message"], style="red"))
    print_rich(summary)
    _key_values("tags", details["tags"])
    _key_values("properties", details["properties"])

    stages = Table("stage", "started", "duration", "detail", box=None, pad_edge=False)
    for stage in details["stages"]:
        seconds = stage["durationSeconds"]
        started = _iso_timestamp(stage["startTimeUtc"])
        if seconds is None and stage["status"] not in _status.TERMINAL and started:
            seconds = time.time() - started
        ended = stage["status"] in _status.TERMINAL
        stages.add_row(_status_text(stage["status"]), local_time(started),
                       "" if ended else _duration(seconds), stage["detail"] or "")
    print_rich("\nstages", stages)

    files = run.workspace.store.list_files(run.id)
    if not files:
        print_rich("\nfiles: none")
        return
    listing = Table("path", "size", box=None, pad_edge=False)
    for file in files:
        listing.add_row(file["path"], human_size(file["size"]))
    print_rich("\nfiles", listing)


# -- logs, metrics, files ------------------------------------------------------------------
class _LogPrinter:
    """Prints the new complete lines of a run's logs, labelled when there are several."""

    def __init__(self, run: Run, include_supervisor: bool) -> None:
        self.run = run
        self.include_supervisor = include_supervisor
        self.offsets: dict[str, int] = {}
        self.partial: dict[str, bytes] = {}

    def names(self, details: dict[str, Any]) -> list[str]:
        return sorted(n for n in details["logFiles"]
                      if n.endswith(".txt") and (self.include_supervisor
                                                 or n != "logs/supervisor.txt"))

    def print_new(self, names: list[str]) -> None:
        for name in names:
            data = self.run.read_log(name, self.offsets.get(name, 0))
            if not data:
                continue
            self.offsets[name] = self.offsets.get(name, 0) + len(data)
            lines = (self.partial.pop(name, b"") + data).split(b"\n")
            if lines[-1]:
                self.partial[name] = lines[-1]
            for line in lines[:-1]:
                self._echo(name, line, several=len(names) > 1)

    def finish(self, names: list[str]) -> None:
        self.print_new(names)
        for name, rest in sorted(self.partial.items()):
            self._echo(name, rest, several=len(names) > 1)
        self.partial.clear()

    @staticmethod
    def _echo(name: str, line: bytes, several: bool) -> None:
        text = line.decode("utf-8", "replace")
        label = name.removeprefix("logs/").removesuffix(".txt")
        click.echo(f"[{label}] {text}" if several else text)


@cli.command()
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the run ends.")
@click.option("--all", "include_all", is_flag=True,
              help="Include the supervisor's log (logs/supervisor.txt).")
@click.pass_obj
@click.pass_context
def logs(ctx: click.Context, state: _State, run_id: str, follow: bool,
         include_all: bool) -> None:
    """Print a run's logs (logs/*.txt)."""
    run = state.run(run_id)
    printer = _LogPrinter(run, include_supervisor=include_all)
    try:
        while True:
            details = run.get_details()  # status first: logs read after an end are whole
            names = printer.names(details)
            if not follow or details["status"] in _status.TERMINAL:
                break
            printer.print_new(names)
            time.sleep(FOLLOW_SECONDS)
        printer.finish(names)
    except KeyboardInterrupt:
        ctx.exit(INTERRUPTED)
    if not printer.offsets:
        click.echo(f"run {run.id} has no logs yet", err=True)


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def _summary(value: Any) -> tuple[str, int]:
    """(last value, number of values) of one metric in get_metrics() shape."""
    if isinstance(value, dict):  # a row or table: columns of values
        count = max((len(column) for column in value.values()), default=0)
        last = ", ".join(f"{k}={_value(v[-1])}" for k, v in value.items() if v)
        return last, count
    if isinstance(value, list):
        return (_value(value[-1]) if value else "", len(value))
    return _value(value), 1


@cli.command()
@click.argument("run_id")
@click.option("--name", help="Only this metric.")
@click.option("--json", "as_json", is_flag=True,
              help="Print get_metrics() as JSON (NaN and infinities as null).")
@click.pass_obj
def metrics(state: _State, run_id: str, name: str | None, as_json: bool) -> None:
    """A run's metrics: name, last value and count."""
    run = state.run(run_id)
    found = run.get_metrics(name=name)
    if name is not None and name not in found:
        known = ", ".join(run.get_metrics()) or "none"
        raise Failure(f"run {run.id} has no metric {name!r}; its metrics: {known}")
    if as_json:
        click.echo(json.dumps(_json_safe(found), indent=2, allow_nan=False))
        return
    if not found:
        click.echo(f"run {run.id} has no metrics", err=True)
        return
    table = Table("name", "last", "count", box=None, pad_edge=False)
    for metric, value in found.items():
        last, count = _summary(value)
        table.add_row(metric, last, str(count))
    print_rich(table)


@cli.command()
@click.argument("run_id")
@click.option("--prefix", help="Only files whose path starts with this, like outputs/.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into  [default: here]")
@click.option("--overwrite", is_flag=True, help="Replace files that are there already.")
@click.pass_obj
def download(state: _State, run_id: str, prefix: str | None, output: Path | None,
             overwrite: bool) -> None:
    """Download a run's files (outputs, logs) under their run paths."""
    from runyard.errors import FileExistsNoOverwriteError

    run = state.run(run_id)
    status = make_console(stderr=True)
    try:
        with status.status(f"downloading the files of {run.id}"):
            written = run.download_files(prefix=prefix, output_directory=output,
                                         overwrite=overwrite)
    except FileExistsNoOverwriteError as e:
        there = getattr(e, "paths", None) or [getattr(e, "path", "?")]
        raise Failure(f"{len(there)} file(s) already exist, e.g. {there[0]}; pass "
                       f"--overwrite to replace them") from e
    for path in written:
        click.echo(path)
    where = output if output is not None else Path.cwd()
    click.echo(f"{len(written)} file(s) written to {where}", err=True)


@cli.command()
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Wait until the run has ended.")
@click.pass_obj
@click.pass_context
def cancel(ctx: click.Context, state: _State, run_id: str, wait: bool) -> None:
    """Ask a run to stop; it ends Canceled within seconds."""
    run = state.run(run_id)
    status = run.get_status()
    if status in _status.TERMINAL:
        click.echo(f"run {run.id} has ended already: {status}")
        return
    run.cancel()
    click.echo(f"cancel requested for run {run.id}")
    if not wait:
        return
    try:
        details = run.wait_for_completion(raise_on_error=False)
    except KeyboardInterrupt:
        ctx.exit(INTERRUPTED)
    click.echo(f"run {run.id} ended {details['status']}")


if __name__ == "__main__":
    main()
