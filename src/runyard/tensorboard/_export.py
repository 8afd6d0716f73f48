"""runyard's metrics as TensorBoard scalars, written with TensorBoard's own event writer
(`tensorboard.summary.writer.event_file_writer`, protobufs from `tensorboard.compat`):
no TensorFlow or torch needed.

`MetricExporter(run, logdir)` keeps one event file open and, each `sync()`, appends the
numeric points logged since the last one (a growing run is followed without rewriting);
`export_to_tensorboard(run, logdir)` is one sync and close.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.errors import MissingExtraError, ValidationError

if TYPE_CHECKING:
    from runyard.run import Run

EXPORT_SUFFIX = ".runyard"  # the exported event files end with it (events.out.tfevents.*)


def _tensorboard() -> tuple[Any, Any, Any]:
    try:
        from tensorboard.compat.proto import (  # type: ignore[import-untyped]
            event_pb2,
            summary_pb2,
        )
        from tensorboard.summary.writer.event_file_writer import (  # type: ignore[import-untyped]
            EventFileWriter,
        )
    except ImportError as error:
        raise MissingExtraError("TensorBoard is not installed: pip install 'runyard[tensorboard]' "
                                "(or pip install tensorboard)", package="tensorboard") from error
    return EventFileWriter, event_pb2, summary_pb2


class MetricExporter:
    """Appends `run`'s numeric metric points to one event file under `logdir`."""

    def __init__(self, run: Run, logdir: str | Path) -> None:
        self.run = run
        self.logdir = Path(logdir)
        if self.logdir.exists() and not self.logdir.is_dir():
            raise ValidationError(f"logdir {self.logdir} exists and is not a folder",
                                  path=str(self.logdir))
        self._writer: Any = None
        self._done = 0        # metric rows already looked at (the store keeps their order)
        self._steps: dict[str, int] = {}  # points written per name, for rows without a step
        self.written = 0

    def sync(self) -> int:
        """Write the points logged since the last sync; returns how many were written."""
        writer_class, event_pb2, summary_pb2 = _tensorboard()
        rows = self.run.workspace.store.get_metrics(self.run.id)
        new = rows[self._done:]
        self._done = len(rows)
        count = 0
        for row in new:
            if row["kind"] != "s" or row["value"] is None or row["text"] is not None:
                continue  # text, lists, tables, images: not scalars
            value = float(row["value"])
            if not math.isfinite(value):
                continue
            name = str(row["name"])
            index = self._steps.get(name, 0)
            self._steps[name] = index + 1
            step = int(row["step"]) if row["step"] is not None else index
            if self._writer is None:
                self.logdir.mkdir(parents=True, exist_ok=True)
                self._writer = writer_class(str(self.logdir), flush_secs=1,
                                            filename_suffix=EXPORT_SUFFIX)
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
                tag=name, simple_value=value)])
            self._writer.add_event(event_pb2.Event(
                wall_time=float(row["time"]) if row["time"] is not None else 0.0,
                step=step, summary=summary))
            count += 1
        if self._writer is not None and count:
            self._writer.flush()
        self.written += count
        return count

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def export_to_tensorboard(run: Run, logdir: str | Path) -> Path | None:
    """Write `run`'s numeric metrics (each `run.log` point, at its step and time) as
    TensorBoard scalars to an event file in `logdir`; returns the file (None when the
    run has no numeric metric). `tensorboard --logdir <logdir>` then shows them."""
    exporter = MetricExporter(run, logdir)
    before = set(Path(logdir).glob("*.tfevents.*")) if Path(logdir).is_dir() else set()
    try:
        exporter.sync()
    finally:
        exporter.close()
    if not exporter.written:
        return None
    made = sorted(set(Path(logdir).glob(f"*.tfevents.*{EXPORT_SUFFIX}")) - before)
    return made[-1] if made else None
