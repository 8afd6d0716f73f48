"""What the notebook widget shows of a run, read once: `read_run(run)` → `RunView`.

Plain data (no HTML, no IPython), so the HTML renderer (`_html.py`), the text shown
outside Jupyter and `RunDetails.get_widget_data()` share one reading of the run.

Invariants: reading never raises for a run the store knows (a log that cannot be read is
empty); every metric series is cut to at most `MAX_POINTS` buckets keeping each bucket's
min and max, so a spike is never hidden and a million-point metric stays a small chart.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from runyard._local import read_tail

if TYPE_CHECKING:
    from runyard.run import Run

MAX_POINTS = 200
LOG_TAIL_BYTES = 8192
LOG_TAIL_LINES = 20
MAX_CHILDREN = 50


@dataclass
class Stage:
    status: str
    seconds: float
    active: bool  # the run is in it now (its duration still grows)


@dataclass
class Series:
    """One numeric metric: (step, value) points, at most MAX_POINTS * 2 of them."""

    name: str
    points: list[tuple[float, float]]
    count: int  # points logged
    last: float


@dataclass
class Child:
    run_id: str
    status: str
    metric: float | None = None  # a sweep child's best primary metric
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunView:
    run_id: str
    experiment: str
    display_name: str | None
    status: str
    terminal: bool
    error: str | None
    url: str
    stages: list[Stage]
    series: list[Series]
    scalars: dict[str, Any]  # metrics that are not a numeric series (one value, text)
    log_name: str | None
    log_tail: list[str]
    children: list[Child]
    primary_metric: str | None  # set for a sweep's parent run
    read_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stages(run: Run, now: float) -> list[Stage]:
    events = run.workspace.store.status_events(run.id)
    stages = []
    for index, event in enumerate(events):
        last = index + 1 == len(events)
        end = now if last else events[index + 1]["time"]
        stages.append(Stage(str(event["status"]), max(0.0, end - event["time"]), last))
    return stages


def downsample(points: list[tuple[float, float]], buckets: int = MAX_POINTS
               ) -> list[tuple[float, float]]:
    """At most 2 * `buckets` points: each bucket's min and max, in step order."""
    if len(points) <= 2 * buckets:
        return points
    size = math.ceil(len(points) / buckets)
    kept: list[tuple[float, float]] = []
    for start in range(0, len(points), size):
        chunk = points[start:start + size]
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        kept.extend(sorted({low, high}))
    return kept


def _metrics(run: Run) -> tuple[list[Series], dict[str, Any]]:
    from runyard.run import shape_metrics

    rows = run.workspace.store.get_metrics(run.id)
    numeric: dict[str, list[tuple[float, float]]] = {}
    others: list[dict[str, Any]] = []
    for row in rows:
        if row["kind"] == "s" and row["value"] is not None and row["text"] is None:
            points = numeric.setdefault(row["name"], [])
            step = row["step"] if row["step"] is not None else len(points)
            points.append((float(step), float(row["value"])))
        else:
            others.append(row)
    series, scalars = [], {}
    for name, points in sorted(numeric.items()):
        if len(points) == 1:
            scalars[name] = points[0][1]
        else:
            finite = [p for p in points if math.isfinite(p[1])]
            series.append(Series(name, downsample(finite), len(points), points[-1][1]))
    for name, value in shape_metrics(others).items():
        if name not in numeric:
            scalars[name] = value
    return series, dict(sorted(scalars.items()))


def _log(run: Run) -> tuple[str | None, list[str]]:
    names = run._log_names()
    if not names:
        return None, []
    preferred = [n for n in names if n.rpartition("/")[2].startswith(("driver_0", "std_log"))]
    user = [n for n in names if not n.endswith("supervisor.txt")]
    name = (preferred or user or names)[0]
    text = read_tail(run._live_logs().parent / name, LOG_TAIL_BYTES)
    if not text:
        with contextlib.suppress(OSError):
            text = run.read_log(name)[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
    return name, text.splitlines()[-LOG_TAIL_LINES:]


def _hyperparameters(value: Any) -> dict[str, Any]:
    """A sweep child's hyperparameters: v1 gives them as a JSON string."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def _children(run: Run) -> tuple[list[Child], str | None]:
    from runyard.hyperdrive.run import HyperDriveRun

    if isinstance(run, HyperDriveRun):
        rows = run.get_children_sorted_by_primary_metric()[:MAX_CHILDREN]
        return [Child(r["run_id"], r["status"], r["best_primary_metric"],
                      _hyperparameters(r["hyperparameters"])) for r in rows], \
            run.primary_metric_name
    children = itertools.islice(run.get_children(), MAX_CHILDREN)
    return [Child(c.id, c.get_status()) for c in children], None


def read_run(run: Run) -> RunView:
    """The run as the widget shows it now."""
    from runyard._status import TERMINAL

    row = run._fetch()
    now = time.time()
    series, scalars = _metrics(run)
    log_name, tail = _log(run)
    children, primary = _children(run)
    return RunView(
        run_id=run.id, experiment=str(row["experiment"]), display_name=run.display_name,
        status=str(row["status"]), terminal=row["status"] in TERMINAL,
        error=row["error"], url=run.get_portal_url(), stages=_stages(run, now),
        series=series, scalars=scalars, log_name=log_name, log_tail=tail,
        children=children, primary_metric=primary, read_at=now)
