"""`runyard datastore ...`: list the workspace's datastores, upload to and download from one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from runyard.cli.util import RunyardGroup, cli_spelling, print_rich

if TYPE_CHECKING:
    from runyard.cli.state import State
    from runyard.data import Datastore

_DEFAULT = "workspaceblobstore"


@click.group(cls=RunyardGroup)
def datastore() -> None:
    """Datastores: named folders or object-store URLs for a workspace's data."""


def _get(state: State, name: str) -> Datastore:
    from runyard.data import Datastore

    return Datastore.get(state.workspace(), name)


@datastore.command("list")
@click.pass_obj
def list_datastores(state: State) -> None:
    """The registered datastores: name, URL, which is the default."""
    table = Table("name", "url", "default", box=None, pad_edge=False)
    for name, store in sorted(state.workspace().datastores.items()):
        table.add_row(name, store.url, "yes" if store.is_default else "")
    print_rich(table)


@datastore.command("upload", context_settings={"show_default": True})
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--datastore", "name", default=_DEFAULT, help="Datastore to upload to.")
@click.option("--target", help="Folder on the datastore  [default: its root]")
@click.option("--overwrite", is_flag=True,
              help="Replace files that are there already (else same-size files are skipped).")
@click.pass_obj
def upload(state: State, src_dir: Path, name: str, target: str | None,
           overwrite: bool) -> None:
    """Upload the files below SRC_DIR (a progress bar on stderr)."""
    from runyard.data import _transfer
    from runyard.data.datastore import datastore_path
    store = _get(state, name)
    prefix = datastore_path(target, what="--target")
    files = [(path, _transfer.join_key(prefix, relative), size)
             for path, relative, size in _transfer.folder_files(src_dir)]
    report = _transfer.upload(store.backend, files, overwrite=overwrite,
                              show_progress=True, description=f"uploading to {name}")
    summary = report.summary("uploaded", f"to {name}:{prefix or '/'}")
    click.echo(cli_spelling(summary, click.get_current_context().command))


@datastore.command("download", context_settings={"show_default": True})
@click.argument("target_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--datastore", "name", default=_DEFAULT, help="Datastore to download from.")
@click.option("--prefix", help="Only paths starting with this, like mnist/  [default: all]")
@click.option("--overwrite", is_flag=True,
              help="Replace local files (else same-size files are skipped).")
@click.pass_obj
def download(state: State, target_dir: Path, name: str, prefix: str | None,
             overwrite: bool) -> None:
    """Download files into TARGET_DIR, under their paths on the datastore."""
    store = _get(state, name)
    report = store._download(target_dir, prefix, overwrite, show_progress=True)
    summary = report.summary("downloaded", f"to {target_dir}")
    click.echo(cli_spelling(summary, click.get_current_context().command))
