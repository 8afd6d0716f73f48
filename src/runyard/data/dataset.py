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

# ruff: noqa: ARG004 - v1's signatures: arguments accepted and not used
from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runyard._v1 import v1_members
from runyard.data._dataset_base import (
    AbstractDataset,
    DatasetConsumptionConfig,
    _default_input_name,
    _pairs,
)
from runyard.data._tabular import DataType, TabularDataset
from runyard.errors import NotSupportedError, ValidationError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

@v1_members("azureml.data.FileDataset")
class FileDataset(AbstractDataset):
    """Files on datastores (v1's FileDataset)."""

    _kind = "file"

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(_default_input_name(self)).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(_default_input_name(self)).as_download(path_on_compute)

    def _of(self, chosen: list[tuple[Any, str, str]]) -> FileDataset:
        # the files keep their paths relative to this dataset's root
        return FileDataset(self._workspace, [(s.name, key) for s, key, _r in chosen],
                           {**self._options, "root": self._common()})

    def take(self, count: int) -> FileDataset:
        """A dataset of its first `count` files (by path)."""
        return self._of(self._files()[:count])

    def skip(self, count: int) -> FileDataset:
        """A dataset of all its files but the first `count` (by path)."""
        return self._of(self._files()[count:])

    def take_sample(self, probability: float, seed: int | None = None) -> FileDataset:
        """Each file kept with `probability`."""
        draws = random.Random(seed)
        return self._of([f for f in self._files() if draws.random() < probability])

    def random_split(self, percentage: float, seed: int | None = None
                     ) -> tuple[FileDataset, FileDataset]:
        """Two datasets: about `percentage` of the files, and the rest."""
        draws = random.Random(seed)
        files = self._files()
        kept = [draws.random() < percentage for _ in files]
        return (self._of([f for f, k in zip(files, kept, strict=True) if k]),
                self._of([f for f, k in zip(files, kept, strict=True) if not k]))


# -- factories and lookup -----------------------------------------------------------------
def dataset_from_row(workspace: Workspace, row: Mapping[str, Any]) -> AbstractDataset:
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


@v1_members("azureml.core.dataset.Dataset")
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

    get_by_name = staticmethod(AbstractDataset.get_by_name)
    get_by_id = staticmethod(AbstractDataset.get_by_id)
    get_all = staticmethod(AbstractDataset.get_all)

    def __new__(cls, definition: Any = None, workspace: Workspace | None = None,
                name: str | None = None, id: str | None = None) -> Any:
        """v1's legacy constructor: `Dataset(workspace=ws, name="mnist")` (or `id=`) is
        the registered dataset, as Dataset.get gives it; a `definition` is v1's legacy
        API, refused."""
        if definition is None and workspace is not None and (name or id):
            return Dataset.get(workspace, name=name, id=id)
        raise NotSupportedError(
            "Dataset(...) takes a workspace and a name or id of a registered dataset; "
            "make new datasets with Dataset.File.from_files(path=(datastore, 'folder')) or "
            "Dataset.Tabular.from_delimited_files(...)", name="azureml.core.dataset.Dataset")

    @staticmethod
    def get(workspace: Workspace, name: str | None = None,
            id: str | None = None) -> AbstractDataset:
        """A registered dataset by name (its latest version) or by id ('name:version')."""
        if (name is None) == (id is None):
            raise ValidationError("Dataset.get takes a name or an id, one of them")
        if name is not None:
            return AbstractDataset.get_by_name(workspace, name)
        return AbstractDataset.get_by_id(workspace, str(id))

    @staticmethod
    def list(workspace: Workspace) -> list[AbstractDataset]:
        """The latest version of every registered dataset (v1's legacy Dataset.list)."""
        return list(AbstractDataset.get_all(workspace).values())


AbstractDataset.File = FileDatasetFactory  # type: ignore[attr-defined]
AbstractDataset.Tabular = TabularDatasetFactory  # type: ignore[attr-defined]


__all__ = ["AbstractDataset", "DataType", "Dataset", "DatasetConsumptionConfig", "FileDataset",
           "FileDatasetFactory", "TabularDataset", "TabularDatasetFactory", "dataset_from_row"]
