"""Tabular datasets: delimited, parquet or JSON-lines files read as one table with pandas,
and v1's row and column operations, kept as a list of steps applied when the table is
read (runyard.data.dataset is the public module; see its docstring)."""

# ruff: noqa: ARG002, ARG004 - v1's signatures: arguments accepted and not used
from __future__ import annotations

import builtins
import hashlib
import json
import os
import random
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runyard._v1 import v1_members
from runyard.data._dataset_base import AbstractDataset
from runyard.errors import MissingExtraError, NotSupportedError, ValidationError


def _pandas() -> Any:
    try:
        import pandas as pd  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as e:
        raise MissingExtraError("reading a TabularDataset needs pandas, which is not "
                                "installed: pip install pandas", package="pandas") from e
    return pd


@v1_members("azureml.data.DataType")
class DataType:
    """v1's column types for `set_column_types=` (pandas dtypes here)."""

    @staticmethod
    def to_string() -> str:
        return "string"

    @staticmethod
    def to_long() -> str:
        return "int64"

    @staticmethod
    def to_float(decimal_mark: str = ".") -> str:
        return "float64"

    @staticmethod
    def to_bool() -> str:
        return "bool"

    @staticmethod
    def to_datetime(formats: Any = None) -> str:
        return "datetime64[ns]"


@v1_members("azureml.data.TabularDataset")
class TabularDataset(AbstractDataset):
    """Delimited, parquet or JSON-lines files read as one table (v1's TabularDataset).

    Row and column operations (`take`, `skip`, `take_sample`, `random_split`,
    `keep_columns`, `drop_columns`) return new datasets; they apply when the table is
    read, and a run that gets the dataset as an input gets its files.
    """

    _kind = "tabular"

    def _then(self, *step: Any) -> TabularDataset:
        options = {**self._options, "steps": [*self._options.get("steps", []), list(step)]}
        return TabularDataset(self._workspace, self._pairs, options)

    def download(self, stream_column: str | None = None,  # type: ignore[override]
                 target_path: str | os.PathLike[str] | None = None, overwrite: bool = False,
                 ignore_not_found: bool = True) -> builtins.list[str]:
        """Copy the table's files under `target_path` (v1's signature: its first argument
        is a stream column, which runyard's tables do not have; leave it None)."""
        if stream_column is not None:
            raise NotSupportedError(
                f"stream column {stream_column!r}: runyard's tabular datasets have no stream "
                f"columns; download(target_path=...) copies the table's files",
                name="azureml.data.TabularDataset.download")
        return super().download(target_path, overwrite, ignore_not_found)

    def to_pandas_dataframe(self, on_error: str = "null",
                            out_of_range_datetime: str = "null") -> Any:
        """The table as a pandas DataFrame (needs pandas; parquet needs pyarrow too)."""
        pd = _pandas()
        options = self._options
        frames = []
        with tempfile.TemporaryDirectory(prefix="runyard-table-") as folder:
            for local, (_s, _key, relative) in zip(self._download_to(Path(folder), True),
                                                   self._files(), strict=True):
                frame = _read(pd, local, options)
                if options.get("include_path"):
                    frame.insert(0, "Path", "/" + relative)
                frames.append(frame)
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for column, kind in (options.get("set_column_types") or {}).items():
            if column in table:
                table[column] = table[column].astype(kind)
        for step in options.get("steps", []):
            table = _apply(step, table)
        return table

    def take(self, count: int) -> TabularDataset:
        """The first `count` rows."""
        return self._then("take", int(count))

    def skip(self, count: int) -> TabularDataset:
        """All rows but the first `count`."""
        return self._then("skip", int(count))

    def take_sample(self, probability: float, seed: int | None = None) -> TabularDataset:
        """Each row kept with `probability` (a fixed seed, or a random one now)."""
        return self._then("sample", float(probability), _seed(seed))

    def random_split(self, percentage: float, seed: int | None = None
                     ) -> tuple[TabularDataset, TabularDataset]:
        """Two datasets: about `percentage` of the rows, and the rest."""
        chosen = _seed(seed)
        return (self._then("split", float(percentage), chosen, 0),
                self._then("split", float(percentage), chosen, 1))

    def keep_columns(self, columns: str | Iterable[str],
                     validate: bool = False) -> TabularDataset:
        return self._then("keep", _columns(columns))

    def drop_columns(self, columns: str | Iterable[str]) -> TabularDataset:
        return self._then("drop", _columns(columns))

    def to_csv_files(self, separator: str = ",") -> AbstractDataset:
        """The table written as one CSV file on the default datastore, as a FileDataset."""
        return self._written("csv", lambda t, p: t.to_csv(p, sep=separator, index=False))

    def to_parquet_files(self) -> AbstractDataset:
        """The table written as one parquet file (pyarrow) on the default datastore."""
        return self._written("parquet", lambda t, p: t.to_parquet(p, index=False))

    def _written(self, suffix: str, write: Any) -> AbstractDataset:
        from runyard.data.dataset import FileDataset

        table = self.to_pandas_dataframe()
        key = hashlib.sha256(json.dumps(self._definition(), sort_keys=True).encode()
                             ).hexdigest()[:16]
        store = self._workspace.get_default_datastore()
        with tempfile.TemporaryDirectory(prefix="runyard-table-") as folder:
            local = Path(folder) / f"part-0.{suffix}"
            try:
                write(table, local)
            except ImportError as e:
                raise MissingExtraError(f"writing {suffix} needs pyarrow: pip install "
                                        f"pyarrow ({e})", package="pyarrow") from e
            store.upload_files([str(local)], relative_root=folder,
                               target_path=f"datasets/{key}", overwrite=True,
                               show_progress=False)
        return FileDataset(self._workspace, [(store.name, f"datasets/{key}")])


def _seed(seed: int | None) -> int:
    return int(seed) if seed is not None else random.SystemRandom().randrange(2**31)


def _columns(columns: str | Iterable[str]) -> builtins.list[str]:
    chosen = [columns] if isinstance(columns, str) else [str(c) for c in columns]
    if not chosen:
        raise ValidationError("give at least one column")
    return chosen


def _apply(step: list[Any], table: Any) -> Any:
    kind = step[0]
    if kind == "take":
        return table.head(step[1]).reset_index(drop=True)
    if kind == "skip":
        return table.iloc[step[1]:].reset_index(drop=True)
    if kind in ("sample", "split"):
        draws = random.Random(step[2])
        kept = [draws.random() < step[1] for _ in range(len(table))]
        if kind == "split" and step[3] == 1:
            kept = [not k for k in kept]
        return table[kept].reset_index(drop=True)
    if kind == "keep":
        missing = [c for c in step[1] if c not in table.columns]
        if missing:
            raise ValidationError(f"keep_columns: no column {', '.join(missing)}; the "
                                  f"table has {', '.join(map(str, table.columns))}")
        return table[step[1]]
    if kind == "drop":
        return table.drop(columns=[c for c in step[1] if c in table.columns])
    raise ValidationError(f"unknown tabular step {kind!r}")


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
