"""`runyard models ...`: the model registry from a shell (list, show, download).

A model is named as NAME (its latest version) or NAME:VERSION, as in `Model(ws, id=...)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from runyard.cli.util import (
    Failure,
    RunyardGroup,
    human_size,
    local_time,
    make_console,
    print_rich,
)

if TYPE_CHECKING:
    from runyard.cli.state import State
    from runyard.models import Model


def _reference(text: str) -> tuple[str, int | None]:
    """NAME or NAME:VERSION → (name, version or None)."""
    name, colon, version = text.rpartition(":")
    if not colon:
        return text, None
    if not version.isdigit() or int(version) < 1:
        raise Failure(f"{text!r}: the version after ':' must be a number from 1, like "
                      f"{name or 'mnist'}:3")
    return name, int(version)


def _model(state: State, reference: str) -> Model:
    from runyard.models import Model

    name, version = _reference(reference)
    return Model(state.workspace(), name, version=version)


def _framework(model: Model) -> str:
    parts = [p for p in (model.model_framework, model.model_framework_version) if p]
    return " ".join(parts) or "-"


@click.group(cls=RunyardGroup)
def models() -> None:
    """Registered models: list them, show one, download one."""


@models.command("list")
@click.option("--name", help="Only versions of this model.")
@click.option("--tag", "tags", multiple=True, metavar="KEY[=VALUE]",
              help="Only versions with this tag (and value); repeat for several.")
@click.option("--latest", is_flag=True, help="Only the latest version of each model.")
@click.pass_obj
def list_models(state: State, name: str | None, tags: tuple[str, ...],
                latest: bool) -> None:
    """Registered model versions: name, version, run, experiment, framework, created."""
    from runyard.models import Model

    pairs = []
    for tag in tags:
        key, equals, value = tag.partition("=")
        pairs.append([key, value] if equals else [key])
    found = Model.list(state.workspace(), name=name, tags=pairs or None, latest=latest)
    if not found:
        click.echo("no models" + (f" named {name!r}" if name else ""), err=True)
        return
    table = Table("name", "version", "run", "experiment", "framework", "created",
                  box=None, pad_edge=False)
    for model in found:
        table.add_row(model.name, str(model.version), model.run_id or "-",
                      model.experiment_name or "-", _framework(model),
                      local_time(model.created_time.timestamp()))
    print_rich(table)


def _key_values(title: str, values: dict[str, str]) -> None:
    if values:
        click.echo(f"\n{title}")
        for key, value in values.items():
            click.echo(f"  {key}={value}")


@models.command("show")
@click.argument("reference", metavar="NAME[:VERSION]")
@click.pass_obj
def show_model(state: State, reference: str) -> None:
    """A model version: where it came from, its tags, properties and files."""
    model = _model(state, reference)
    files = model.files
    summary = Table.grid(padding=(0, 2))
    summary.add_row("model", model.id)
    summary.add_row("description", model.description or "-")
    summary.add_row("created", local_time(model.created_time.timestamp()))
    summary.add_row("run", model.run_id or "-")
    summary.add_row("experiment", model.experiment_name or "-")
    summary.add_row("framework", _framework(model))
    summary.add_row("source", model.source_path or "-")
    summary.add_row("url", model.url)
    summary.add_row("size", f"{human_size(sum(f['size'] for f in files))} in "
                            f"{len(files)} file(s)")
    print_rich(summary)
    _key_values("tags", model.tags)
    _key_values("properties", model.properties)
    listing = Table("path", "size", "sha256", box=None, pad_edge=False)
    for file in files:
        listing.add_row(file["path"], human_size(file["size"]), file["sha256"][:16])
    print_rich("\nfiles", listing)


@models.command("download", sdk_names={"target_dir": "--output"})
@click.argument("reference", metavar="NAME[:VERSION]")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the model's file or folder into  [default: here]")
@click.option("--exist-ok", is_flag=True,
              help="Replace the files of a model already downloaded there.")
@click.pass_obj
def download_model(state: State, reference: str, output: Path | None,
                   exist_ok: bool) -> None:
    """Download a model version (every file checked against its registered sha256)."""
    model = _model(state, reference)
    status = make_console(stderr=True)
    with status.status(f"downloading model {model.id}"):
        path = model.download(target_dir=output or Path.cwd(), exist_ok=exist_ok)
    click.echo(path)
    click.echo(f"model {model.id}: {len(model.files)} file(s) verified", err=True)
