"""What file and tabular datasets share: their paths on datastores, their files, the
registry and run inputs (runyard.data.dataset is the public module; see its docstring)."""

# ruff: noqa: ARG002, ARG004 - v1's signatures: arguments accepted and not used
from __future__ import annotations

import builtins
import contextlib
import fnmatch
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._validation import checked_name
from runyard.data.datastore import Datastore, datastore_name, datastore_path
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

_GLOB = set("*?[")
Pair = tuple[str, str]  # (datastore name, path on it; '' is its root)


def _pairs(path: Any) -> tuple[Workspace, builtins.list[Pair]]:
    """v1's `path=`: a (datastore, path) tuple, a DataReference / DataPath, or a list."""
    items = path if isinstance(path, list) else [path]
    if not items:
        raise ValidationError("a dataset needs at least one path, like (datastore, 'mnist')")
    workspace = None
    pairs: builtins.list[Pair] = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Datastore):
            store, relative = item
        elif isinstance(getattr(item, "datastore", None), Datastore):
            store, relative = item.datastore, getattr(item, "path_on_datastore", None)
        elif isinstance(item, str | os.PathLike):
            raise ValidationError(
                f"dataset path {str(item)!r} is not on a datastore; upload it first "
                f"(ds.upload(src_dir, target_path='data')) and give (ds, 'data'). URLs "
                f"are not fetched: runyard's machines reach no web data", path=str(item))
        else:
            raise ValidationError(f"dataset path {item!r} is neither a (datastore, path) "
                                  f"tuple nor a datastore path (ds.path('data'))")
        if workspace is not None and store.workspace != workspace:
            raise ValidationError("a dataset's paths must be in one workspace")
        workspace = store.workspace
        clean = str(relative or "").strip("/")
        pairs.append((store.name, datastore_path(clean, what="dataset path")))
    assert workspace is not None
    return workspace, pairs


def _folder_of(path: str) -> str:
    """The folder part of a path before any glob segment."""
    parts = path.split("/") if path else []
    kept = []
    for part in parts:
        if _GLOB & set(part):
            break
        kept.append(part)
    return "/".join(kept)


class AbstractDataset:
    """What File and Tabular datasets share: paths, registration, run inputs."""

    _kind = "abstract"

    def __init__(self, workspace: Workspace, pairs: builtins.list[Pair],
                 options: Mapping[str, Any] | None = None) -> None:
        self._workspace = workspace
        self._pairs = list(pairs)
        self._options = dict(options or {})
        self.name: str | None = None
        self.version: int | None = None
        self.description: str | None = None
        self.tags: dict[str, str] = {}

    def __repr__(self) -> str:
        where = ", ".join(f"{d}:{p or '/'}" for d, p in self._pairs)
        named = f"name={self.name!r}, version={self.version!r}, " if self.name else ""
        return f"{type(self).__name__}({named}paths=[{where}])"

    @property
    def id(self) -> str | None:
        return None if self.name is None else f"{self.name}:{self.version}"

    # -- files ------------------------------------------------------------------------------
    def _files(self) -> builtins.list[tuple[Datastore, str, str]]:
        """(datastore, key, path relative to the dataset's root) of every file, sorted."""
        root = self._common()
        found: dict[tuple[str, str], tuple[Datastore, str, str]] = {}
        for store, path in self._stores():
            backend = store.backend
            folder = _folder_of(path)
            if folder == path and path and backend.is_file(path):
                keys = [path]
            else:
                keys = [key for key, _size in backend.list_files(folder)]
                if folder != path:
                    keys = [k for k in keys if fnmatch.fnmatchcase(k, path)
                            or fnmatch.fnmatchcase(k, path + "/*")]
            for key in keys:
                found[(store.name, key)] = (store, key, key[len(root) + 1:] if root else key)
        return [found[k] for k in sorted(found)]

    def _stores(self) -> builtins.list[tuple[Datastore, str]]:
        opened: dict[str, Datastore] = {}
        return [(opened.setdefault(name, Datastore(self._workspace, name)), path)
                for name, path in self._pairs]

    def _common(self) -> str:
        """The folder every path is below: a run input's path on its datastore."""
        if "root" in self._options:  # a dataset made from another's files keeps its root
            return str(self._options["root"])
        if len(self._pairs) == 1:
            store, path = self._stores()[0]
            if path and _folder_of(path) == path and store.backend.is_file(path):
                return path.rpartition("/")[0]  # one file: its folder
        folders = ["/" + _folder_of(p) for _, p in self._pairs]
        return os.path.commonpath(folders).strip("/")

    def _root(self) -> tuple[str, str]:
        """The datastore and the common folder of the paths (a run input's path)."""
        stores = {d for d, _ in self._pairs}
        if not stores:
            raise ValidationError("this dataset has no files (take/skip left none); a run "
                                  "input needs at least one")
        if len(stores) != 1:
            raise ValidationError(
                f"this dataset spans datastores {', '.join(sorted(stores))}; a run input "
                f"is one folder on one datastore: make one dataset per datastore")
        return stores.pop(), self._common()

    def _validate(self) -> None:
        if not self._files():
            where = ", ".join(f"{d}:{p or '/'}" for d, p in self._pairs)
            raise ValidationError(f"no files found at {where} (pass validate=False to "
                                  f"define the dataset before its files exist)")

    def to_path(self) -> builtins.list[str]:
        """The dataset's files, as paths relative to its root ("/train/x.gz", as v1)."""
        return ["/" + relative for _store, _key, relative in self._files()]

    def _download_to(self, target: Path, overwrite: bool) -> builtins.list[str]:
        from runyard.errors import FileExistsNoOverwriteError

        files = self._files()
        targets = [target / relative for _s, _k, relative in files]
        existing = [str(t) for t in targets if t.exists()]
        if existing and not overwrite:
            raise FileExistsNoOverwriteError(
                f"{len(existing)} file(s) already exist, e.g. {existing[0]}; pass "
                f"overwrite=True to replace them", paths=existing)
        for (store, key, _relative), local in zip(files, targets, strict=True):
            local.parent.mkdir(parents=True, exist_ok=True)
            store.backend.get(key, str(local))
        return [str(t) for t in targets]

    def download(self, target_path: str | os.PathLike[str] | None = None,
                 overwrite: bool = False, ignore_not_found: bool = False) -> builtins.list[str]:
        """Copy the files under `target_path` (default: a new temporary folder), keeping
        their paths relative to the dataset's root; returns the local paths."""
        target = Path(target_path) if target_path is not None else \
            Path(tempfile.mkdtemp(prefix="runyard-dataset-"))
        if not ignore_not_found and not self._files():
            self._validate()
        return self._download_to(target, overwrite)

    @contextlib.contextmanager
    def mount(self, mount_point: str | os.PathLike[str] | None = None,
              **kwargs: Any) -> Iterator[str]:
        """A local folder holding the files while the block runs: the folder itself for
        a datastore on this machine (one path, no glob), else a copy removed afterwards."""
        name, root = self._root()
        store = Datastore(self._workspace, name)
        single = len(self._pairs) == 1 and _folder_of(self._pairs[0][1]) == self._pairs[0][1]
        if single and store.backend.local_root is not None and mount_point is None:
            yield str(store.backend.local_root / root if root else store.backend.local_root)
            return
        with tempfile.TemporaryDirectory(prefix="runyard-mount-") as folder:
            target = Path(mount_point) if mount_point is not None else Path(folder)
            self._download_to(target, overwrite=True)
            yield str(target)

    # -- registry ---------------------------------------------------------------------------
    def _definition(self) -> dict[str, Any]:
        return {"kind": self._kind, "paths": [list(p) for p in self._pairs],
                "options": self._options}

    def register(self, workspace: Workspace, name: str, description: str | None = None,
                 tags: Mapping[str, Any] | None = None,
                 create_new_version: bool = False) -> AbstractDataset:
        """Register this definition as `name`; a name taken by another definition needs
        create_new_version=True (v1), the same definition is the same version."""
        clean = checked_name(name, what="dataset name", allowed="-_.", first_alnum=True)
        clean_tags = _string_map(tags or {})
        try:
            version = workspace.store.register_dataset(
                clean, self._definition(), description=description, tags=clean_tags,
                create_new_version=create_new_version)
        except FileExistsError:
            raise ValidationError(f"dataset {clean!r} is registered already with another "
                                  f"definition; pass create_new_version=True for version 2 "
                                  f"and on", name=clean) from None
        from runyard.data.dataset import dataset_from_row

        return dataset_from_row(workspace, workspace.store.get_dataset(clean, version) or {})

    def _registered(self, what: str) -> tuple[str, int]:
        if self.name is None or self.version is None:
            raise ValidationError(f"{what} needs a registered dataset: register(ws, name) "
                                  f"first")
        return self.name, self.version

    def update(self, description: str | None = None,
               tags: Mapping[str, Any] | None = None) -> AbstractDataset:
        """Replace the description and (all of) the tags of this registered version."""
        name, version = self._registered("update")
        clean = None if tags is None else _string_map(tags)
        self._workspace.store.update_dataset(name, version, description=description,
                                             tags=clean)
        if description is not None:
            self.description = description
        if clean is not None:
            self.tags = clean
        return self

    def add_tags(self, tags: Mapping[str, Any] | None = None) -> AbstractDataset:
        """Add tags, or change their values."""
        return self.update(tags={**self.tags, **_string_map(tags or {})})

    def remove_tags(self, tags: Iterable[str] | str | None = None) -> AbstractDataset:
        """Remove tags by key (keys that are not there are ignored)."""
        keys = {tags} if isinstance(tags, str) else set(tags or [])
        return self.update(tags={k: v for k, v in self.tags.items() if k not in keys})

    def unregister_all_versions(self) -> None:
        """Remove every version of this dataset's name from the registry (its files on the
        datastore stay)."""
        name, _version = self._registered("unregister_all_versions")
        self._workspace.store.delete_dataset(name)
        self.name = self.version = None

    @staticmethod
    def get_by_name(workspace: Workspace, name: str, version: int | str = "latest",
                    **kwargs: Any) -> AbstractDataset:
        """A registered dataset, its latest version unless `version`."""
        from runyard.data.dataset import dataset_from_row

        chosen = None if version in ("latest", None) else int(version)
        row = workspace.store.get_dataset(name, chosen)
        if row is None:
            known = sorted({r["name"] for r in workspace.store.list_datasets()})
            what = f"version {chosen} of dataset {name!r}" if chosen else f"dataset {name!r}"
            raise ValidationError(f"no {what} in this workspace; registered: "
                                  f"{', '.join(known) or 'none'}", name=name)
        return dataset_from_row(workspace, row)

    @staticmethod
    def get_by_id(workspace: Workspace, id: str, **kwargs: Any) -> AbstractDataset:
        """A registered dataset by its id, `name:version`."""
        name, colon, version = str(id).rpartition(":")
        if not colon or not version.isdigit():
            raise ValidationError(f"dataset id {id!r} is not 'name:version'", id=id)
        return AbstractDataset.get_by_name(workspace, name, int(version))

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, AbstractDataset]:
        """The latest version of every registered dataset, by name."""
        from runyard.data.dataset import dataset_from_row

        latest: dict[str, AbstractDataset] = {}
        for row in workspace.store.list_datasets():  # by name, then version
            latest[row["name"]] = dataset_from_row(workspace, row)
        return latest

    # -- in a run ---------------------------------------------------------------------------
    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """This dataset as the run input `name` (`input_datasets[name]` in the script)."""
        return DatasetConsumptionConfig(name, self)

    def to_config(self) -> dict[str, Any]:
        """The dataset itself as a run argument: its input named after it, mounted."""
        return self.as_named_input(_default_input_name(self)).to_config()

    def __str__(self) -> str:
        return str(self.as_named_input(_default_input_name(self)))


def _string_map(values: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise ValidationError(f"tags must be a dict of str to str, got "
                              f"{type(values).__name__}")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def _default_input_name(dataset: AbstractDataset) -> str:
    base = dataset.name or "input"
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in base)


class DatasetConsumptionConfig:
    """A dataset as a run's named input: mounted (in place where the datastore is on this
    machine) or downloaded into the working directory, as a DataReference is."""

    def __init__(self, name: str, dataset: AbstractDataset, mode: str = "direct",
                 path_on_compute: str | None = None) -> None:
        self.name = datastore_name(name, what="dataset input name")
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = path_on_compute

    def __repr__(self) -> str:
        return (f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r}, "
                f"dataset={self.dataset!r})")

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        if not self.dataset._kind == "file":
            raise ValidationError("only a FileDataset can be mounted; give a TabularDataset "
                                  "as as_named_input(name) or as_download()")
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    def _reference(self) -> Any:
        from runyard.data.data_reference import DataReference

        store, root = self.dataset._root()
        # "direct" (the dataset itself) is a mount for files, a download for a table
        mount = self.mode == "mount" or (self.mode == "direct" and
                                         self.dataset._kind == "file")
        mode = "mount" if mount else "download"
        return DataReference(Datastore(self.dataset._workspace, store),
                             data_reference_name=self.name, path_on_datastore=root or None,
                             mode=mode, path_on_compute=self.path_on_compute)

    def to_config(self) -> dict[str, Any]:
        """The DataReference config the supervisor turns into a local path."""
        return {**self._reference().to_config(), "dataset": self.dataset._definition()}

    def __str__(self) -> str:
        return str(self._reference())


