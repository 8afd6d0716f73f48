"""Datasets in azureml-core v1's shape, over runyard's datastores.

`Dataset.File.from_files(path=(datastore, "mnist"))` names files on datastores;
`Dataset.Tabular.from_delimited_files(...)` names delimited (or parquet, JSON lines)
files read as one table. A dataset is a definition, not a copy: its files are read when
it is used.

Invariants:
- Paths are (datastore, path on it) pairs, validated like every datastore path; the last
  segment may be a glob (`mnist/*.gz`). `validate=True` (v1's default) checks now that
  at least one file matches.
- In a run, `ds.as_named_input("train").as_mount()` (or `.as_download()`, or the
  dataset itself as an argument) becomes a DataReference: the script gets a local path
  in its arguments and in `Run.get_context().input_datasets["train"]`. For a glob or
  several paths on one datastore that path is their common folder; paths on several
  datastores are refused as a run input.
- A registered dataset is a name with versions 1, 2, ... in the run history; the same
  definition registered again is the same version.
- `to_pandas_dataframe()` needs pandas (and pyarrow for parquet); where they are
  missing it raises MissingExtraError naming the package.
"""

# ruff: noqa: ARG002, ARG004 - v1's signatures: arguments accepted and not used
from __future__ import annotations

import builtins
import contextlib
import fnmatch
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._validation import checked_name
from runyard.data.datastore import Datastore, datastore_name, datastore_path
from runyard.errors import MissingExtraError, ValidationError

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
        if len(self._pairs) == 1:
            store, path = self._stores()[0]
            if path and _folder_of(path) == path and store.backend.is_file(path):
                return path.rpartition("/")[0]  # one file: its folder
        folders = ["/" + _folder_of(p) for _, p in self._pairs]
        return os.path.commonpath(folders).strip("/")

    def _root(self) -> tuple[str, str]:
        """The datastore and the common folder of the paths (a run input's path)."""
        stores = {d for d, _ in self._pairs}
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
        clean_tags = {str(k): "" if v is None else str(v) for k, v in (tags or {}).items()}
        try:
            version = workspace.store.register_dataset(
                clean, self._definition(), description=description, tags=clean_tags,
                create_new_version=create_new_version)
        except FileExistsError:
            raise ValidationError(f"dataset {clean!r} is registered already with another "
                                  f"definition; pass create_new_version=True for version 2 "
                                  f"and on", name=clean) from None
        return _from_row(workspace, workspace.store.get_dataset(clean, version) or {})

    # -- in a run ---------------------------------------------------------------------------
    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """This dataset as the run input `name` (`input_datasets[name]` in the script)."""
        return DatasetConsumptionConfig(name, self)

    def to_config(self) -> dict[str, Any]:
        """The dataset itself as a run argument: its input named after it, mounted."""
        return self.as_named_input(_default_input_name(self)).to_config()

    def __str__(self) -> str:
        return str(self.as_named_input(_default_input_name(self)))


class FileDataset(AbstractDataset):
    """Files on datastores (v1's FileDataset)."""

    _kind = "file"

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

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(_default_input_name(self)).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(_default_input_name(self)).as_download(path_on_compute)

    def take(self, count: int) -> FileDataset:
        """A dataset of its first `count` files (by path)."""
        chosen = self._files()[:count]
        return FileDataset(self._workspace, [(s.name, key) for s, key, _r in chosen],
                           self._options)


class TabularDataset(AbstractDataset):
    """Delimited, parquet or JSON-lines files read as one table (v1's TabularDataset)."""

    _kind = "tabular"

    def to_pandas_dataframe(self, on_error: str = "null",
                            out_of_range_datetime: str = "null") -> Any:
        """The table as a pandas DataFrame (needs pandas; parquet needs pyarrow too)."""
        try:
            import pandas as pd  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as e:
            raise MissingExtraError("to_pandas_dataframe needs pandas, which is not "
                                    "installed: pip install pandas", package="pandas") from e
        options = self._options
        frames = []
        with tempfile.TemporaryDirectory(prefix="runyard-table-") as folder:
            for local, (_s, _key, relative) in zip(self._download_to(Path(folder), True),
                                                   self._files(), strict=True):
                frame = _read(pd, local, options)
                if options.get("include_path"):
                    frame.insert(0, "Path", "/" + relative)
                frames.append(frame)
        if not frames:
            return pd.DataFrame()
        table = pd.concat(frames, ignore_index=True)
        for column, kind in (options.get("set_column_types") or {}).items():
            if column in table:
                table[column] = table[column].astype(kind)
        return table

    def take(self, count: int) -> _Rows:
        """The first `count` rows (as v1, a dataset you can turn into a DataFrame)."""
        return _Rows(self, count)


class _Rows:
    def __init__(self, dataset: TabularDataset, count: int) -> None:
        self._dataset, self._count = dataset, count

    def to_pandas_dataframe(self, **kwargs: Any) -> Any:
        return self._dataset.to_pandas_dataframe(**kwargs).head(self._count)


def _read(pd: Any, local: str, options: Mapping[str, Any]) -> Any:
    fmt = options.get("format", "delimited")
    if fmt == "parquet":
        try:
            return pd.read_parquet(local)
        except ImportError as e:
            raise MissingExtraError(f"parquet files need pyarrow: pip install pyarrow ({e})",
                                    package="pyarrow") from e
    if fmt == "json_lines":
        return pd.read_json(local, lines=True, encoding=options.get("encoding", "utf8"))
    header = options.get("header", True)
    return pd.read_csv(local, sep=options.get("separator", ","),
                       header=0 if header not in (False, 0, "no_header") else None,
                       encoding=options.get("encoding", "utf8"),
                       keep_default_na=not options.get("empty_as_string", False))


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
        if not isinstance(self.dataset, FileDataset):
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
                                         isinstance(self.dataset, FileDataset))
        mode = "mount" if mount else "download"
        return DataReference(Datastore(self.dataset._workspace, store),
                             data_reference_name=self.name, path_on_datastore=root or None,
                             mode=mode, path_on_compute=self.path_on_compute)

    def to_config(self) -> dict[str, Any]:
        """The DataReference config the supervisor turns into a local path."""
        return {**self._reference().to_config(), "dataset": self.dataset._definition()}

    def __str__(self) -> str:
        return str(self._reference())


# -- factories and lookup -----------------------------------------------------------------
def _from_row(workspace: Workspace, row: Mapping[str, Any]) -> AbstractDataset:
    definition = row["definition"]
    cls = FileDataset if definition["kind"] == "file" else TabularDataset
    dataset = cls(workspace, [(d, p) for d, p in definition["paths"]], definition["options"])
    dataset.name, dataset.version = row["name"], int(row["version"])
    dataset.description, dataset.tags = row["description"], dict(row["tags"])
    return dataset


class FileDatasetFactory:
    """`Dataset.File`: file datasets."""

    @staticmethod
    def from_files(path: Any, validate: bool = True, partition_format: str | None = None,
                   is_file: bool = False) -> FileDataset:
        """Files at `path`: (datastore, 'folder'), (datastore, 'folder/*.gz'), a list."""
        workspace, pairs = _pairs(path)
        dataset = FileDataset(workspace, pairs)
        if validate:
            dataset._validate()
        return dataset


class TabularDatasetFactory:
    """`Dataset.Tabular`: tabular datasets."""

    @staticmethod
    def from_delimited_files(path: Any, validate: bool = True, include_path: bool = False,
                             infer_column_types: bool = True,
                             set_column_types: Mapping[str, Any] | None = None,
                             separator: str = ",", header: Any = True,
                             partition_format: str | None = None,
                             support_multi_line: bool = False, empty_as_string: bool = False,
                             encoding: str = "utf8") -> TabularDataset:
        """CSV-like files at `path`, read as one table."""
        return _tabular(path, validate, {
            "format": "delimited", "include_path": include_path, "separator": separator,
            "header": header if isinstance(header, bool | int) else str(header),
            "set_column_types": _types(set_column_types), "empty_as_string": empty_as_string,
            "encoding": encoding})

    @staticmethod
    def from_parquet_files(path: Any, validate: bool = True, include_path: bool = False,
                           set_column_types: Mapping[str, Any] | None = None,
                           partition_format: str | None = None) -> TabularDataset:
        return _tabular(path, validate, {"format": "parquet", "include_path": include_path,
                                         "set_column_types": _types(set_column_types)})

    @staticmethod
    def from_json_lines_files(path: Any, validate: bool = True, include_path: bool = False,
                              set_column_types: Mapping[str, Any] | None = None,
                              partition_format: str | None = None,
                              invalid_lines: str = "error",
                              encoding: str = "utf8") -> TabularDataset:
        return _tabular(path, validate, {"format": "json_lines", "include_path": include_path,
                                         "set_column_types": _types(set_column_types),
                                         "encoding": encoding})


def _types(types: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else getattr(v, "__name__", str(v))
            for k, v in (types or {}).items()}


def _tabular(path: Any, validate: bool, options: dict[str, Any]) -> TabularDataset:
    workspace, pairs = _pairs(path)
    dataset = TabularDataset(workspace, pairs, options)
    if validate:
        dataset._validate()
    return dataset


class Dataset:
    """v1's `azureml.core.Dataset`: `Dataset.File`, `Dataset.Tabular`, and the registry.

    Example:
        >>> ds = ws.get_default_datastore()                                  # doctest: +SKIP
        >>> mnist = Dataset.File.from_files(path=(ds, "mnist"))              # doctest: +SKIP
        >>> mnist = mnist.register(ws, "mnist")                              # doctest: +SKIP
        >>> ScriptRunConfig(".", "train.py",
        ...                 arguments=["--data", mnist.as_named_input("mnist").as_mount()])
        ... # doctest: +SKIP
    """

    File = FileDatasetFactory
    Tabular = TabularDatasetFactory

    @staticmethod
    def get_by_name(workspace: Workspace, name: str, version: int | str = "latest"
                    ) -> AbstractDataset:
        """A registered dataset, its latest version unless `version`."""
        chosen = None if version in ("latest", None) else int(version)
        row = workspace.store.get_dataset(name, chosen)
        if row is None:
            known = sorted({r["name"] for r in workspace.store.list_datasets()})
            what = f"version {chosen} of dataset {name!r}" if chosen else f"dataset {name!r}"
            raise ValidationError(f"no {what} in this workspace; registered: "
                                  f"{', '.join(known) or 'none'}", name=name)
        return _from_row(workspace, row)

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, AbstractDataset]:
        """The latest version of every registered dataset, by name."""
        latest: dict[str, AbstractDataset] = {}
        for row in workspace.store.list_datasets():  # by name, then version
            latest[row["name"]] = _from_row(workspace, row)
        return latest


__all__ = ["AbstractDataset", "Dataset", "DatasetConsumptionConfig", "FileDataset",
           "FileDatasetFactory", "TabularDataset", "TabularDatasetFactory"]
