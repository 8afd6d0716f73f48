"""Reads the channel files of a run's processes and writes what they carry to the store.

The channel trusts nothing it reads: a script (or anything it runs) can write any bytes
into its channel file. So:
- records are applied only to the supervisor's own run and to the child runs that run
  created through the runtime (`child_run`), whose ids must be new;
- a file record copies only a regular file out of the run's staging folder;
- bytes that are not a frame, a frame that does not decode, and a record that cannot be
  stored are reported (supervisor log and a warning on the run) and skipped; every other
  record is stored.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard import _status
from runyard._atomic import atomic_write
from runyard._validation import artifact_path, checked_name
from runyard.errors import RunyardError
from runyard.runtime import _run, _values, _wire
from runyard.store.base import MetricRow, metric_row

if TYPE_CHECKING:
    from collections.abc import Callable

    from runyard.artifacts import ArtifactStore
    from runyard.store import AbstractStore

WARNINGS_KEPT = 100  # per run; past that, one more says how many were not kept
_TRANSACTION_ROWS = 50_000
_KINDS = frozenset({"list", "row", "table", "image", _run.V1_TABLE_KIND})


def _row_problem(row: MetricRow) -> str | None:
    """Why the store cannot take `row`, or None (the slow path, after a batch failed)."""
    name, step, value, text, when = row.name, row.step, row.value, row.text, row.time
    if type(name) is not str or _values.text_problem(name) or not 0 < len(name) <= 255:
        return f"metric name {name!r:.80} cannot be stored"
    if step is not None and (type(step) is not int or
                             not _values.INT64_MIN <= step <= _values.INT64_MAX):
        return f"metric {name!r}: step {step!r:.80} is not a 64-bit integer"
    if value is not None and (type(value) not in (int, float) or
                              (type(value) is int and
                               not _values.INT64_MIN <= value <= _values.INT64_MAX)):
        return f"metric {name!r}: value {value!r:.80} is not a number the store takes"
    if text is not None and (type(text) is not str or _values.text_problem(text)):
        return f"metric {name!r}: value {text!r:.80} is not text the store takes"
    if type(when) is not float or not math.isfinite(when):
        return f"metric {name!r}: time {when!r:.80} is not a time"
    return None


class Ingestor:
    """Tails `<run dir>/channel/<rank>.bin` files; `poll()` moves new frames to the store."""

    def __init__(self, folder: Path, store: AbstractStore, artifacts: ArtifactStore,
                 run_id: str, experiment: str, warn: Callable[[str], None],
                 staging: Path | None = None) -> None:
        self.folder = folder
        self.store = store
        self.artifacts = artifacts
        self.run_id = run_id
        self.experiment = experiment
        self.say = warn
        self.staging = staging if staging is not None else folder.parent / "staged"
        self.replies = folder / "replies"
        self.runs = {run_id}  # this run and the child runs it created
        self._readers: dict[str, _wire.Reader] = {}
        self._offsets: dict[str, int] = {}
        self.points = 0
        self.warnings = 0

    # -- reporting ------------------------------------------------------------------------
    def warn(self, message: str) -> None:
        """The supervisor log, and a warning on the run the user sees in its details."""
        self.say(f"warning: {message}")
        self.warnings += 1
        if self.warnings > WARNINGS_KEPT + 1:
            return
        if self.warnings == WARNINGS_KEPT + 1:
            message = "more warnings than these; the rest are in logs/supervisor.txt"
        try:
            self.store.add_warning(self.run_id, message, source="supervisor")
        except Exception as e:  # noqa: BLE001 - the warning is in the log already
            self.say(f"could not store the warning on the run: {e}")

    # -- reading --------------------------------------------------------------------------
    def poll(self, final: bool = False) -> int:
        """Ingest everything complete written so far; return the number of metric points.
        With `final`, a frame left incomplete (a process killed while writing) is reported."""
        if not self.folder.is_dir():
            return 0
        rows: list[MetricRow] = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if not entry.name.endswith(".bin") or not entry.is_file(follow_symlinks=False):
                continue
            rank = int(entry.name[:-4]) if entry.name[:-4].isdigit() else 0
            reader = self._readers.setdefault(entry.name, _wire.Reader())
            offset = self._offsets.get(entry.name, 0)
            if entry.stat().st_size > offset:
                with open(entry.path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
                self._offsets[entry.name] = offset + len(data)
                for body in reader.feed(data):
                    self._frame(entry.name, body, rank, rows)
            for where, size, why in reader.skipped:
                self.warn(f"channel {entry.name}: {size} byte(s) at offset {where} are "
                          f"{why}, skipped (something other than runyard wrote into the "
                          f"channel file?)")
            reader.skipped.clear()
            if final and reader.pending:
                self.warn(f"channel {entry.name}: the last {len(reader.pending)} byte(s) "
                          f"are an incomplete frame (a process killed while it wrote); "
                          f"what they held is lost")
                reader.pending = b""
        self._store_rows(rows)
        return len(rows)

    def _frame(self, channel: str, body: bytes, rank: int, rows: list[MetricRow]) -> None:
        try:
            run_id, records = _wire.decode(body)
        except Exception as e:  # noqa: BLE001 - anything in the bytes: report, go on
            self.warn(f"channel {channel}: a frame of {len(body)} bytes could not be read "
                      f"({type(e).__name__}: {e}); its records are lost")
            return
        if not isinstance(records, list):
            self.warn(f"channel {channel}: a frame holds no list of records; skipped")
            return
        if run_id not in self.runs:
            self.warn(f"channel {channel}: {len(records)} record(s) for run {run_id!r:.300}, "
                      f"which is neither this run nor a child run it created, were refused")
            return
        self._apply(run_id, records, rank, rows)

    def _apply(self, run_id: str, records: list[Any], rank: int, rows: list[MetricRow]) -> None:
        append = rows.append
        row = metric_row  # MetricRow from its fields in order: one per point, so fast
        for record in records:
            try:
                first = record[0]
                if first.__class__ is str:  # (name, value, step, time): a scalar
                    name, value, step, when = record
                    if value.__class__ is str:
                        append(row((run_id, first, "s", step, None, value, when, rank)))
                    else:
                        append(row((run_id, first, "s", step, value, None, when, rank)))
                elif first == _wire.METRIC:
                    _, kind, name, text, step, when = record
                    if kind not in _KINDS:
                        raise ValueError(f"unknown metric kind {kind!r:.40}")
                    append(row((run_id, name, kind, step, None, text, when, rank)))
                else:
                    self._store_rows(rows)  # keep order with the operation that follows
                    self._operation(run_id, record)
            except (RunyardError, OSError, TypeError, ValueError, IndexError, KeyError,
                    AttributeError) as e:
                self.warn(f"a record for run {run_id} could not be applied and was "
                          f"skipped: {str(record)[:200]}: {e}")

    # -- storing --------------------------------------------------------------------------
    def _store_rows(self, rows: list[MetricRow]) -> None:
        """Store `rows` in transactions; when one fails, store its good rows and report
        each bad one (a bad record never costs the good ones)."""
        for start in range(0, len(rows), _TRANSACTION_ROWS):
            chunk = rows[start:start + _TRANSACTION_ROWS]
            try:
                self.store.insert_metrics(chunk)
            except Exception as batch_error:  # the bad rows are found below
                good = []
                for row in chunk:
                    problem = _row_problem(row)
                    if problem:
                        self.warn(f"{problem}; that point was not stored")
                    else:
                        good.append(row)
                if len(good) == len(chunk):
                    raise batch_error  # not the rows: the store itself failed
                if good:
                    self.store.insert_metrics(good)
                self.points += len(good)
            else:
                self.points += len(chunk)
        rows.clear()

    def _operation(self, run_id: str, record: tuple[Any, ...]) -> None:
        op = record[0]
        if op == _wire.TAGS:
            self.store.set_tags(run_id, _values.mapping(record[1], what="tag"))
        elif op == _wire.PROPERTIES:
            clean = _values.mapping(record[1], what="property")
            self.store.add_properties(run_id, {k: v or "" for k, v in clean.items()})
        elif op == _wire.FILE:
            _, name, staged = record
            self._file(run_id, artifact_path(name, what="file name"), staged)
        elif op == _wire.CHILD:
            _, child_id, name = record
            self._child(run_id, child_id, name)
        elif op == _wire.CHILD_END:
            _, child_id, status, error = record
            if child_id == self.run_id or child_id not in self.runs:
                raise ValueError(f"run {child_id!r:.300} is not a child run of this run")
            if status not in (_status.COMPLETED, _status.FAILED):
                raise ValueError(f"a child run cannot end {status!r:.40}")
            error = None if not error else _values.text(error, what="error")
            self.store.set_status(child_id, status, error=error, only_if=[_status.RUNNING])
        else:
            raise ValueError(f"unknown record type {op!r:.40}")

    def _file(self, run_id: str, name: str, staged: object) -> None:
        """Copy a staged file into the run's files: only a regular file directly in the
        staging folder, never followed through a link; the staged copy is removed."""
        if not isinstance(staged, str) or Path(staged).parent.resolve() != \
                self.staging.resolve() or Path(staged).name in ("", ".", ".."):
            raise ValueError(f"staged file {str(staged)[:300]!r} is not in the run's "
                             f"staging folder {self.staging}")
        fd = os.open(staged, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as source:
            if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                raise ValueError(f"staged file {staged!r} is not a regular file")
            size = self.artifacts.put_stream(source, f"runs/{run_id}/{name}")
        self.store.add_files(run_id, [(name, size)])
        os.unlink(staged)

    def _child(self, parent_id: str, child_id: object, name: object) -> None:
        """Create a child run and tell the script (`replies/<id>`: empty, or why not)."""
        checked = checked_name(child_id, what="child run id", allowed="-_.",
                               first_alnum=True)
        refusal = ""
        display = None if name is None else _values.text(name, what="child run name",
                                                         limit=255)
        if checked in self.runs or self._exists(checked):
            refusal = (f"child run id {checked!r} is already used by another run; give "
                       f"another run_id (or none, for a generated one)")
        else:
            try:
                self.store.create_run(checked, self.experiment, compute_target=None,
                                      config=None, snapshot_id=None, parent_id=parent_id,
                                      display_name=display, status=_status.RUNNING)
            except Exception as e:  # noqa: BLE001 - said to the script, and here
                refusal = f"child run {checked!r} could not be created: {e}"
        if not refusal:
            self.runs.add(checked)
        else:
            self.warn(refusal)
        self._reply(checked, refusal)

    def _exists(self, run_id: str) -> bool:
        try:
            self.store.get_run(run_id)
        except KeyError:
            return False
        return True

    def _reply(self, child_id: str, text: str) -> None:
        self.replies.mkdir(exist_ok=True)
        atomic_write(self.replies / child_id, text)

