"""The run commands of `runyard`: init, submit, runs list/show, logs, metrics, download,
cancel. The root group (`runyard.cli`) registers them.

Invariants:
- `submit` exits 1 when the run it followed ended Failed or Canceled, 130 on Ctrl-C.
- Ctrl-C only stops *watching* a run (`submit`, `logs --follow`, `cancel --wait`) and
  says so; runs are canceled by `runyard cancel` alone.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.table import Table
from rich.text import Text

from runyard import _status
from runyard._format import duration_text as _duration
from runyard._format import run_duration as _run_duration
from runyard.cli.util import (
    Failure,
    RunyardCommand,
    RunyardGroup,
    human_size,
    local_time,
    make_console,
    print_rich,
)

if TYPE_CHECKING:
    from runyard.cli.state import State
    from runyard.environment import Environment

FOLLOW_SECONDS = 0.25
INTERRUPTED = 130  # the shell's code for "ended by SIGINT"
_STATUS_STYLES: dict[str, str] = {_status.COMPLETED: "green", _status.FAILED: "red",
                                  _status.CANCELED: "yellow", _status.RUNNING: "cyan"}


# -- plumbing ------------------------------------------------------------------------------
def _status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def _iso_timestamp(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


def _value(value: Any) -> str:
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _sanitized_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", folder.name).strip("-")[:255]
    return name or "workspace"


@click.command(cls=RunyardCommand)
@click.argument("name", required=False)
@click.option("--path", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create the workspace in; default: --workspace, or here.")
@click.option("--exist-ok", is_flag=True, help="Use the workspace if one is there already.")
@click.pass_obj
def init(state: State, name: str | None, path: Path | None, exist_ok: bool) -> None:
    """Create a workspace (NAME defaults to the folder's name)."""
    from runyard.workspace import CONFIG_DIR, CONFIG_FILE, Workspace

    folder = (path or state.workspace_path or Path.cwd()).resolve()
    existed = (folder / CONFIG_DIR / CONFIG_FILE).is_file()
    workspace = Workspace.create(name or _sanitized_name(folder), path=folder,
                                 exist_ok=exist_ok)
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


def _python_files(folder: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in folder.iterdir()
                      if entry.suffix == ".py" and entry.is_file())
    except OSError:
        return []


def _folder_given(script: str, folder: Path) -> Failure:
    found = _python_files(folder)
    example = next((n for n in ("train.py", "main.py") if n in found), found[0] if found
                   else "train.py")
    listed = f" (its Python files: {', '.join(found[:5])}{' ...' if len(found) > 5 else ''})" \
        if found else ""
    return Failure(f"{script} is a folder, not a script{listed}; name the script to run, "
                   f"like {Path(script) / example}: its folder is what is snapshotted")


def _source_and_script(script: str, source_dir: Path | None) -> tuple[Path, str]:
    """The source folder and the script's path inside it: SCRIPT is taken relative to
    --source-dir when it is there, else relative to the current folder. A script that is
    not a file is refused here, in the command line's words."""
    given = Path(script)
    if source_dir is None:
        resolved = given.resolve()
        if resolved.is_dir():
            raise _folder_given(script, resolved)
        if not resolved.is_file():
            raise Failure(f"script {script} not found" + (
                "" if resolved.parent.is_dir() else f" (no folder {resolved.parent})"))
        return resolved.parent, resolved.name
    source = source_dir.resolve()
    if not source.is_dir():
        what = "is not a folder" if source.exists() else "not found"
        raise Failure(f"--source-dir {source_dir} {what}")
    in_source = not given.is_absolute() and (source / given).exists()
    resolved = (source / given if in_source else given).resolve()
    if not resolved.is_relative_to(source):
        raise Failure(f"script {script} is outside --source-dir {source}; only that folder "
                      f"is snapshotted, so the script must be inside it")
    if resolved.is_dir():
        raise _folder_given(script, resolved)
    if not resolved.is_file():
        raise Failure(f"script {script} not found in --source-dir {source}")
    if in_source:
        return source, given.as_posix()
    return source, resolved.relative_to(source).as_posix()


def _environment(experiment_name: str, pip_packages: tuple[str, ...],
                 requirements: Path | None, environment: str | None,
                 state: State) -> Environment | None:
    """The run's environment from --pip / --requirements (built with uv, cached by
    content), or a registered one (--environment NAME[:VERSION]); None: this interpreter."""
    from runyard.environment import Environment

    if environment is not None:
        if pip_packages or requirements is not None:
            given = "--pip" if pip_packages else "--requirements"
            raise Failure(f"--environment {environment} cannot be combined with {given}: a "
                          f"registered environment is used as it was registered; register "
                          f"one with these packages, or leave out --environment")
        name, colon, version = environment.rpartition(":")
        if not colon:
            return Environment.get(state.workspace(), environment)
        if not name or not version.isdigit() or int(version) < 1:
            raise Failure(f"--environment {environment!r}: give NAME or NAME:VERSION, with a "
                          f"version from 1")
        return Environment.get(state.workspace(), name, int(version))
    if requirements is not None:
        if requirements.is_dir():
            raise Failure(f"--requirements {requirements} is a folder, not a requirements "
                          f"file")
        if not requirements.is_file():
            raise Failure(f"--requirements {requirements}: file not found")
        built = Environment.from_pip_requirements(experiment_name, requirements)
    elif pip_packages:
        built = Environment(experiment_name)
    else:
        return None
    for package in pip_packages:
        built.python.conda_dependencies.add_pip_package(package)
    return built


class _SubmitCommand(RunyardCommand):
    """`submit`, which says where `--` goes when an option after SCRIPT is unknown."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # click's parser consumes the list it parses
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as e:
            hint = self._double_dash_hint(ctx, given, e.option_name)
            if hint is None:
                raise
            raise Failure(hint) from e

    def _double_dash_hint(self, ctx: click.Context, args: list[str],
                          option: str) -> str | None:
        """A hint when an unknown option comes after SCRIPT: it is the script's own."""
        import shlex

        where = next((i for i, arg in enumerate(args)
                      if arg == option or arg.startswith(f"{option}=")), None)
        if where is None or "--" in args[:where]:
            return None
        try:
            before, _, _ = self.make_parser(ctx).parse_args(list(args[:where]))
        except click.UsageError:
            return None
        if not isinstance(before.get("script"), str):
            return None  # an unknown option before SCRIPT is a typo of ours
        fixed = shlex.join(["runyard", "submit", *args[:where], "--", *args[where:]])
        return (f"no such option {option} for runyard submit; options after SCRIPT are "
                f"still runyard's, so put `--` before the script's own arguments: {fixed}")


@click.command(cls=_SubmitCommand, context_settings={"show_default": True},
             sdk_names={"source_directory": "--source-dir"})
@click.argument("script")
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
@click.option("--source-dir", type=click.Path(path_type=Path),
              help="Folder to snapshot and run in  [default: the script's folder]")
@click.option("--experiment", "experiment_name", default="default", help="Experiment name.")
@click.option("--compute", default="local", help="Compute target name.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag the run (repeat).")
@click.option("--pip", "pip_packages", multiple=True, metavar="PKG",
              help="A pip package (a requirement such as 'six==1.16.0') to install for the "
                   "run (repeat); the environment is built with uv and cached.")
@click.option("--requirements", type=click.Path(path_type=Path), metavar="FILE",
              help="A requirements file whose packages to install for the run (with --pip: "
                   "both).")
@click.option("--environment", metavar="NAME[:VERSION]",
              help="Run in this registered environment (Environment.register), its latest "
                   "version unless :VERSION is given.")
@click.option("--no-wait", is_flag=True, help="Print the run id and return at once.")
@click.pass_obj
@click.pass_context
def submit(ctx: click.Context, state: State, script: str, arguments: tuple[str, ...],
           source_dir: Path | None, experiment_name: str, compute: str,
           tags: tuple[str, ...], pip_packages: tuple[str, ...], requirements: Path | None,
           environment: str | None, no_wait: bool) -> None:
    """Run SCRIPT with ARGUMENTS (after `--`) and follow its output.

    Exits 1 when the run ends Failed or Canceled. Ctrl-C stops following; the run goes on.

    \b
    Examples:
      runyard submit train.py --experiment mnist -- --epochs 3
      runyard submit train.py --pip scikit-learn --pip pandas
      runyard submit train.py --requirements requirements.txt
      runyard submit train.py --environment sklearn:2
    """
    from runyard import _validation
    from runyard.experiment import Experiment
    from runyard.train import ScriptRunConfig

    tag_values = _parse_tags(tags)
    _validation.experiment_name(experiment_name)
    source, script_path = _source_and_script(script, source_dir)
    run_environment = _environment(experiment_name, pip_packages, requirements, environment,
                                   state)
    config = ScriptRunConfig(source_directory=source, script=script_path,
                             arguments=list(arguments), compute_target=compute,
                             environment=run_environment)
    run = Experiment(state.workspace(), experiment_name).submit(config, tags=tag_values)
    click.echo(run.id)
    if no_wait:
        return
    try:
        details = run.wait_for_completion(show_output=True, raise_on_error=False)
    except KeyboardInterrupt:
        _stopped_following(ctx, run.id)
    if details["status"] != _status.COMPLETED:
        ctx.exit(1)


def _stopped_following(ctx: click.Context, run_id: str) -> NoReturn:
    """After Ctrl-C: say that only the watching stopped, and exit 130."""
    click.echo(f"\nstopped following run {run_id}; it goes on. Follow it with "
               f"`runyard logs --follow {run_id}`, cancel it with "
               f"`runyard cancel {run_id}`.", err=True)
    ctx.exit(INTERRUPTED)


# -- runs ----------------------------------------------------------------------------------
@click.group(cls=RunyardGroup)
def runs() -> None:
    """List runs and show one."""


@runs.command("list")
@click.option("--experiment", "experiment_name", help="Only this experiment's runs.")
@click.option("--status", type=click.Choice(_status.LIFECYCLE, case_sensitive=False),
              help="Only runs in this status.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many runs, newest first.")
@click.pass_obj
def list_runs(state: State, experiment_name: str | None, status: str | None,
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
def show_run(state: State, run_id: str) -> None:
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
@click.command(cls=RunyardCommand)
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the run ends.")
@click.option("--all", "include_all", is_flag=True,
              help="Include the supervisor's log (logs/supervisor.txt).")
@click.pass_obj
@click.pass_context
def logs(ctx: click.Context, state: State, run_id: str, follow: bool,
         include_all: bool) -> None:
    """Print a run's logs (logs/*.txt)."""
    from runyard._follow import Follower

    run = state.run(run_id)
    follower = Follower(run, sys.stdout, stages=False,
                        include_supervisor=include_all)
    try:
        if follow:
            while follower.step()["status"] not in _status.TERMINAL:
                time.sleep(FOLLOW_SECONDS)
        follower.finish()
    except KeyboardInterrupt:
        if not follow:
            ctx.exit(INTERRUPTED)
        _stopped_following(ctx, run.id)
    if not follower.read_anything:
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


def _summary(kind: str, value: Any, points: int) -> tuple[str, int]:
    """(last value, number of values) of one metric: `value` in get_metrics() shape,
    `points` the number of times it was logged, `kind` how (log, log_list, log_row...)."""
    if kind in ("row", "table"):  # columns of values
        count = max((len(column) for column in value.values()), default=0)
        last = ", ".join(f"{k}={_value(v[-1])}" for k, v in value.items() if v)
        return last, count
    if kind != "s":  # a list (log_list) or an image, whole; several when logged again
        return _value(value[-1] if points > 1 else value), points
    if isinstance(value, list):
        return (_value(value[-1]) if value else "", len(value))
    return _value(value), 1


@click.command(cls=RunyardCommand)
@click.argument("run_id")
@click.option("--name", help="Only this metric.")
@click.option("--json", "as_json", is_flag=True,
              help="Print get_metrics() as JSON (NaN and infinities as null).")
@click.pass_obj
def metrics(state: State, run_id: str, name: str | None, as_json: bool) -> None:
    """A run's metrics: name, last value (a log_list metric: the whole list) and count."""
    from runyard.run import shape_metrics

    run = state.run(run_id)
    points = run.workspace.store.get_metrics(run.id, name)
    found = shape_metrics(points)
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
    kinds: dict[str, str] = {}
    for point in points:
        kinds.setdefault(point["name"], point["kind"])  # as shape_metrics reads it
    logged = Counter(point["name"] for point in points)
    for metric, value in found.items():
        last, count = _summary(kinds[metric], value, logged[metric])
        table.add_row(metric, last, str(count))
    print_rich(table)


@click.command(cls=RunyardCommand, sdk_names={"output_directory": "--output"})
@click.argument("run_id")
@click.option("--prefix", help="Only files whose path starts with this, like outputs/.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into  [default: here]")
@click.option("--overwrite", is_flag=True, help="Replace files that are there already.")
@click.pass_obj
def download(state: State, run_id: str, prefix: str | None, output: Path | None,
             overwrite: bool) -> None:
    """Download a run's files (outputs, logs) under their run paths."""
    run = state.run(run_id)
    status = make_console(stderr=True)
    with status.status(f"downloading the files of {run.id}"):
        written = run.download_files(prefix=prefix, output_directory=output,
                                     overwrite=overwrite)
    for path in written:
        click.echo(path)
    where = output if output is not None else Path.cwd()
    click.echo(f"{len(written)} file(s) written to {where}", err=True)


@click.command(cls=RunyardCommand)
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Wait until the run has ended.")
@click.pass_obj
@click.pass_context
def cancel(ctx: click.Context, state: State, run_id: str, wait: bool) -> None:
    """Ask a run to stop; it ends Canceled within seconds."""
    run = state.run(run_id)
    status = run.get_status()
    if status in _status.TERMINAL:
        click.echo(f"run {run.id} has ended already: {status}")
        return
    run.cancel()
    if not wait:
        click.echo(f"cancel requested for run {run.id}")
        return
    try:
        click.echo(f"cancel requested for run {run.id}")
        details = run.wait_for_completion(raise_on_error=False)
    except KeyboardInterrupt:
        click.echo(f"\nstopped waiting for run {run.id}; its cancel request stands and "
                   f"it ends Canceled on its own. Check it with `runyard runs show "
                   f"{run.id}`.", err=True)
        ctx.exit(INTERRUPTED)
    click.echo(f"run {run.id} ended {details['status']}")

