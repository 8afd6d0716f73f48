"""Reads the channel files of a run's processes and writes what they carry to the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard import _status
from runyard.errors import RunyardError
from runyard.runtime import _wire
from runyard.store.base import MetricRow

if TYPE_CHECKING:
    from runyard.artifacts import ArtifactStore
    from runyard.store import AbstractStore


class Ingestor:
    """Tails `<run dir>/channel/<rank>.bin` files; `poll()` moves new frames to the store."""

    def __init__(self, folder: Path, store: AbstractStore, artifacts: ArtifactStore,
                 run_id: str, experiment: str, warn: Any) -> None:
        self.folder = folder
        self.store = store
        self.artifacts = artifacts
        self.run_id = run_id
        self.experiment = experiment
        self.warn = warn
        self._offsets: dict[str, int] = {}
        self._tails: dict[str, bytes] = {}
        self.points = 0

    def poll(self) -> int:
        """Ingest everything complete written so far; return the number of metric points."""
        if not self.folder.is_dir():
            return 0
        rows: list[MetricRow] = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if not entry.name.endswith(".bin"):
                continue
            rank = int(entry.name[:-4]) if entry.name[:-4].isdigit() else 0
            offset = self._offsets.get(entry.name, 0)
            if entry.stat().st_size <= offset:
                continue
            with open(entry.path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
            self._offsets[entry.name] = offset + len(data)
            frames, tail = _wire.split_frames(self._tails.get(entry.name, b"") + data)
            self._tails[entry.name] = tail
            for body in frames:
                run_id, records = _wire.decode(body)
                self._apply(run_id, records, rank, rows)
        self._flush_rows(rows)
        return len(rows)

    def _flush_rows(self, rows: list[MetricRow]) -> None:
        if rows:
            self.store.insert_metrics(rows)
            self.points += len(rows)
            rows.clear()

    def _apply(self, run_id: str, records: list[Any], rank: int, rows: list[MetricRow]) -> None:
        append = rows.append
        for record in records:
            first = record[0]
            if first.__class__ is str:  # (name, value, step, time): a scalar
                value = record[1]
                if value.__class__ is str:
                    append((run_id, first, "s", record[2], None, value, record[3], rank))
                else:
                    append((run_id, first, "s", record[2], value, None, record[3], rank))
            elif first == _wire.METRIC:
                _, kind, name, text, step, when = record
                append((run_id, name, kind, step, None, text, when, rank))
            else:
                self._flush_rows(rows)  # keep order with the operation that follows
                try:
                    self._operation(run_id, record)
                except (RunyardError, OSError) as e:
                    self.warn(f"could not apply {record[:2]!r} for run {run_id}: {e}")

    def _operation(self, run_id: str, record: tuple[Any, ...]) -> None:
        op = record[0]
        if op == _wire.TAGS:
            self.store.set_tags(run_id, record[1])
        elif op == _wire.PROPERTIES:
            self.store.add_properties(run_id, record[1])
        elif op == _wire.FILE:
            _, name, staged = record
            size = self.artifacts.put_file(staged, f"runs/{run_id}/{name}")
            self.store.add_files(run_id, [(name, size)])
            os.unlink(staged)
        elif op == _wire.CHILD:
            _, child_id, name = record
            self.store.create_run(child_id, self.experiment, compute_target=None, config=None,
                                  snapshot_id=None, parent_id=run_id, display_name=name,
                                  status=_status.RUNNING)
        elif op == _wire.CHILD_END:
            _, child_id, status, error = record
            self.store.set_status(child_id, status, error=error or None)
