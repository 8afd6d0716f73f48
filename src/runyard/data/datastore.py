"""Datastore: a named place for data (a folder, a bucket), registered in the workspace.

Invariants:
- A datastore is a name and an fsspec URL in the run history; `workspaceblobstore`, the
  default, is the folder `.runyard/datastores/workspaceblobstore` of the workspace,
  registered on first use and found relative to the workspace (so the workspace can move).
- The default datastore is `workspaceblobstore` until another is marked default in the
  run history (`set_as_default`, options["default"]); exactly one row carries the mark.
- Names are 1-255 letters, digits and '_' (Azure's rule, case kept).
- Paths on a datastore are validated relative POSIX paths; bad input writes nothing.
- A URL whose filesystem package is missing is refused when it is registered, naming
  the package ("s3:// needs s3fs: pip install s3fs").
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runyard._v1 import v1_members
from runyard._validation import artifact_path
from runyard.data import _transfer
from runyard.data._filesystems import (
    Backend,
    normalize_url,
    open_backend,
    protocol_of,
)
from runyard.errors import InvalidNameError, UnknownDatastoreError, ValidationError

if TYPE_CHECKING:
    from runyard.data.data_reference import DataReference
    from runyard.workspace import Workspace

DEFAULT_DATASTORE = "workspaceblobstore"
_DEFAULT_FOLDER = ".runyard/datastores/workspaceblobstore"
_NAME = re.compile(r"[A-Za-z0-9_]{1,255}")


def datastore_name(name: object, *, what: str = "datastore name") -> str:
    """Return `name` if it is 1-255 letters, digits or '_', else raise InvalidNameError."""
    if isinstance(name, str) and _NAME.fullmatch(name):
        return name
    if not isinstance(name, str):
        problem = f"must be a string, got {type(name).__name__}"
    elif not name:
        problem = "is empty"
    elif len(name) > 255:
        problem = f"is {len(name)} characters long (at most 255)"
    else:
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c == "_"))})
        problem = "contains " + ", ".join("a space" if c == " " else repr(c) for c in bad)
    raise InvalidNameError(f"{what} {name!r} {problem}; use 1-255 letters, digits or '_'",
                           name=name)


def datastore_path(path: str | None, *, what: str = "path") -> str:
    """A path on a datastore, validated; None, '' and '.' mean the datastore's root ('')."""
    if path is None or path in ("", "."):
        return ""
    return artifact_path(path, what=what)


@v1_members("azureml.core.datastore.Datastore")
class Datastore:
    """A registered place for data: a folder on this machine or any fsspec URL.

    `Datastore(ws, name)` returns a registered one (the default when `name` is None).

    Example:
        >>> ds = ws.get_default_datastore()                           # doctest: +SKIP
        >>> ds.upload("./data/mnist", target_path="mnist", overwrite=True)  # doctest: +SKIP
        >>> data = ds.path("mnist").as_mount()                         # doctest: +SKIP
        >>> config = ScriptRunConfig(".", "train.py", arguments=["--data-folder", data])
        ... # doctest: +SKIP
    """

    def __init__(self, workspace: Workspace, name: str | None = None) -> None:
        name = default_datastore_name(workspace) if name is None else datastore_name(name)
        if name == DEFAULT_DATASTORE:
            _ensure_default(workspace)
        row = workspace.store.get_datastore(name)
        if row is None:
            known = sorted({DEFAULT_DATASTORE, *(r["name"] for r in
                                                 workspace.store.list_datastores())})
            raise UnknownDatastoreError(
                f"no datastore {name!r} in workspace {workspace.name!r}; known "
                f"datastores: {', '.join(known)}. Register one with "
                f"Datastore.register(ws, name, url)", name=name, valid=known)
        self.workspace = workspace
        self.name: str = row["name"]
        options = dict(row["options"] or {})
        self.options = options
        relative = options.get("workspace_relative")
        self.url: str = (workspace.path / relative).as_uri() if relative else row["url"]
        self._backend: Backend | None = None

    # -- registering and finding -----------------------------------------------------------
    @staticmethod
    def register(workspace: Workspace, name: str, url: str | os.PathLike[str],
                 overwrite: bool = False) -> Datastore:
        """Register `url` (a local folder, file://, s3://, az://, gs:// or any fsspec URL)
        as `name`. Registering the same URL again returns it; another URL needs
        `overwrite=True`. A missing filesystem package is a MissingExtraError now.

        Example:
            >>> ds = Datastore.register(ws, "scratch", "/data/scratch")   # doctest: +SKIP
            >>> ds = Datastore.register(ws, "lake", "s3://bucket/data")   # doctest: +SKIP
        """
        datastore_name(name)
        clean = normalize_url(os.fspath(url))
        existing = workspace.store.get_datastore(name)
        if existing is not None and not overwrite:
            current = Datastore(workspace, name)
            if current.url == clean:
                return current
            raise ValidationError(
                f"datastore {name!r} is registered already for {current.url}; pass "
                f"overwrite=True to point it at {clean}", name=name, url=current.url)
        workspace.store.put_datastore(name, clean, {})
        return Datastore(workspace, name)

    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> Datastore:
        """The registered datastore `datastore_name` (UnknownDatastoreError lists the known)."""
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get_default(workspace: Workspace) -> Datastore:
        """The default datastore: `workspaceblobstore` (registered on first use) unless
        another was made the default with set_as_default()."""
        return Datastore(workspace)

    def set_as_default(self) -> None:
        """Make this datastore the workspace's default (ws.get_default_datastore(),
        Datastore(ws)); the one before stays registered."""
        self.workspace.store.set_default_datastore(self.name)
        self.options = {**self.options, "default": True}

    def unregister(self) -> None:
        """Forget this datastore's registration; its data is not touched. The default
        datastore and workspaceblobstore (the workspace's own folder) are refused."""
        if self.name == DEFAULT_DATASTORE:
            raise ValidationError(
                f"{DEFAULT_DATASTORE} is the workspace's own folder and cannot be "
                f"unregistered; unregister the datastores you registered", name=self.name)
        if self.is_default:
            raise ValidationError(
                f"datastore {self.name!r} is the default; make another the default first "
                f"(Datastore(ws, {DEFAULT_DATASTORE!r}).set_as_default())", name=self.name)
        self.workspace.store.delete_datastore(self.name)

    # -- what it is --------------------------------------------------------------------------
    @property
    def datastore_type(self) -> str:
        """The URL's protocol: 'file', 's3', 'az', 'gs', ..."""
        return protocol_of(self.url)

    @property
    def is_default(self) -> bool:
        return self.name == default_datastore_name(self.workspace)

    @property
    def local_path(self) -> Path | None:
        """The folder on this machine for a file:// datastore; None for remote ones."""
        return self.backend.local_root

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = open_backend(self.url)
        return self._backend

    def __repr__(self) -> str:
        return f"Datastore(name={self.name!r}, url={self.url!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Datastore) and other.workspace == self.workspace
                and other.name == self.name)

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))

    # -- moving files ------------------------------------------------------------------------
    def upload(self, src_dir: str | os.PathLike[str], target_path: str | None = None,
               overwrite: bool = False, show_progress: bool = True) -> DataReference:
        """Copy the files below `src_dir` to `target_path` on the datastore.

        Files already there with the same size are skipped unless `overwrite`; a file
        there with other content needs `overwrite=True` (else nothing is copied).
        Returns a DataReference to `target_path`.
        """
        prefix = datastore_path(target_path, what="target_path")
        files = [(path, _transfer.join_key(prefix, relative), size)
                 for path, relative, size in _transfer.folder_files(src_dir)]
        self._upload(files, overwrite, show_progress)
        return self.path(prefix or None)

    def upload_files(self, files: Sequence[str | os.PathLike[str]],
                     relative_root: str | os.PathLike[str] | None = None,
                     target_path: str | None = None, overwrite: bool = False,
                     show_progress: bool = True) -> DataReference:
        """Copy `files` to `target_path`, each at its path relative to `relative_root`
        (default: the folder the files share). Returns a DataReference to `target_path`."""
        prefix = datastore_path(target_path, what="target_path")
        planned = [(path, _transfer.join_key(prefix, relative), size)
                   for path, relative, size in _transfer.listed_files(files, relative_root)]
        self._upload(planned, overwrite, show_progress)
        return self.path(prefix or None)

    def _upload(self, files: list[tuple[str, str, int]], overwrite: bool,
                show_progress: bool) -> _transfer.TransferReport:
        report = _transfer.upload(self.backend, files, overwrite=overwrite,
                                  show_progress=show_progress,
                                  description=f"uploading to {self.name}")
        if show_progress:
            print(report.summary("uploaded", f"to {self.name}"), file=sys.stderr)
        return report

    def download(self, target_path: str | os.PathLike[str], prefix: str | None = None,
                 overwrite: bool = False, show_progress: bool = True) -> int:
        """Copy the files whose path starts with `prefix` (all without one) into the local
        folder `target_path`, under their datastore paths; returns how many were copied.

        Local files of the same size are skipped unless `overwrite`; local files with
        other content need `overwrite=True` (else nothing is copied).
        """
        report = self._download(target_path, prefix, overwrite, show_progress)
        if show_progress:
            print(report.summary("downloaded", f"to {target_path}"), file=sys.stderr)
        return report.copied

    def _download(self, target_path: str | os.PathLike[str], prefix: str | None,
                  overwrite: bool, show_progress: bool) -> _transfer.TransferReport:
        clean = datastore_path(prefix, what="prefix")
        if clean and prefix is not None and prefix.endswith("/"):
            clean += "/"
        root = os.path.expanduser(os.fspath(target_path))
        files = [(key, size, os.path.join(root, artifact_path(key, what="path on the datastore")))
                 for key, size in _transfer.files_under(self.backend, clean)]
        return _transfer.download(self.backend, files, overwrite=overwrite,
                                  show_progress=show_progress,
                                  description=f"downloading from {self.name}")

    # -- references for runs -----------------------------------------------------------------
    def path(self, path: str | None = None,
             data_reference_name: str | None = None) -> DataReference:
        """A DataReference to `path` on this datastore (mount mode)."""
        from runyard.data.data_reference import DataReference

        return DataReference(self, data_reference_name=data_reference_name,
                             path_on_datastore=path)

    def as_mount(self) -> DataReference:
        """The whole datastore, as a folder the run reads (and writes) in place."""
        return self.path().as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        """The whole datastore, copied into the run's working directory before it starts."""
        return self.path().as_download(path_on_compute=path_on_compute)


def default_datastore_name(workspace: Workspace) -> str:
    """The datastore marked default (set_as_default), else `workspaceblobstore`."""
    for row in workspace.store.list_datastores():
        if (row["options"] or {}).get("default"):
            return str(row["name"])
    return DEFAULT_DATASTORE


def _ensure_default(workspace: Workspace) -> None:
    """Register `workspaceblobstore` unless it is there; two processes may race to it."""
    store = workspace.store
    if store.get_datastore(DEFAULT_DATASTORE) is not None:
        return
    folder = workspace.path / _DEFAULT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    try:
        store.put_datastore(DEFAULT_DATASTORE, folder.as_uri(),
                            {"workspace_relative": _DEFAULT_FOLDER})
    except Exception:
        if store.get_datastore(DEFAULT_DATASTORE) is None:
            raise  # not the other process's insert winning: a real failure


def list_datastores(workspace: Workspace) -> dict[str, Datastore]:
    """Every registered datastore by name, the default among them (`ws.datastores`)."""
    _ensure_default(workspace)
    return {row["name"]: Datastore(workspace, row["name"])
            for row in workspace.store.list_datastores()}
