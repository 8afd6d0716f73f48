"""The reads a run browser needs, done in the database: a page of runs (filtered, sorted,
counted) and a metric series downsampled to buckets with each bucket's exact min and max.

Invariants:
- Paging, sorting and filtering happen in one SQL query each (the page, its total); no
  step of a page reads every run. Sorting by a metric uses each run's latest value of it,
  and runs without the metric come last whatever the direction; ties are broken by
  creation order, then id, so pages never overlap or skip a run.
- A series never hides a point's extreme: each bucket carries the exact min and max of
  the points in it, and the series the exact overall min and max. A metric with at most
  `buckets` points comes back point by point.
- Bad input (an unknown order key or comparison, buckets out of range, a bad x mode)
  raises ValidationError naming the value and the valid choices, before any query.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runyard.errors import ValidationError
from runyard.store import _schema as t
from runyard.store._summaries import BLOCK_POINTS
from runyard.store.base import AbstractStore

ORDER_KEYS = ("start", "duration", "name", "status", "created")
OPERATORS = ("<", "<=", ">", ">=", "=", "==", "!=")
X_MODES = ("step", "time", "relative")
MAX_BUCKETS = 100_000
MAX_LIMIT = 10_000


@dataclass
class Page:
    """One page of runs: `runs` as `store.get_run` gives them, each with `tags`,
    `duration` (seconds, None before it started) and `metrics` ({name: latest value or
    None} for the requested metric columns); `total` counts every run that matched."""

    runs: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


@dataclass
class Series:
    """A metric downsampled to buckets along `x_mode`: bucket `i` starts at `x[i]` and
    holds `count[i]` points whose exact extremes are `min[i]`, `max[i]` and whose mean is
    `mean[i]`; empty buckets are left out. `bucket_width` is None when the points came
    back one by one. `total` counts every point, `overall_min`/`overall_max` are exact."""

    run_id: str
    name: str
    x_mode: str
    x: list[float] = field(default_factory=list)
    min: list[float] = field(default_factory=list)
    max: list[float] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    total: int = 0
    overall_min: float | None = None
    overall_max: float | None = None
    bucket_width: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "run_id", "name", "x_mode", "x", "min", "max", "mean", "count", "total",
            "overall_min", "overall_max", "bucket_width")}


# -- validation ---------------------------------------------------------------------------
def _engine(store: AbstractStore) -> sa.Engine:
    engine = getattr(store, "engine", None)
    if not isinstance(engine, sa.Engine):
        raise TypeError(f"run queries need a SQL store, not {type(store).__name__}")
    return engine


def _order(order_by: str) -> tuple[str, str | None, bool]:
    """(key, metric name or None, descending) from "name", "-start", "metric:loss"."""
    if not isinstance(order_by, str) or not order_by.strip("-"):
        raise ValidationError(f"order_by must be one of {', '.join(ORDER_KEYS)} or "
                              f"metric:<name>, optionally after '-'; got {order_by!r}",
                              order_by=order_by, valid=ORDER_KEYS)
    descending = order_by.startswith("-")
    key = order_by[1:] if descending else order_by
    if key.startswith("metric:"):
        metric = key[len("metric:"):]
        if not metric:
            raise ValidationError(f"order_by {order_by!r} names no metric; use "
                                  f"metric:<name>", order_by=order_by)
        return "metric", metric, descending
    if key not in ORDER_KEYS:
        raise ValidationError(f"unknown order_by key {key!r}; use one of "
                              f"{', '.join(ORDER_KEYS)} or metric:<name>, optionally after "
                              f"'-' for descending", order_by=order_by, valid=ORDER_KEYS)
    return key, None, descending


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{name} must be a whole number from {low:,} to {high:,}, "
                              f"not {value!r}", **{name: value})
    return value


def _metric_filters(filters: Sequence[Any] | None) -> list[tuple[str, str, float]]:
    checked = []
    for item in filters or ():
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValidationError(f"a metric filter is (name, op, value), not {item!r}",
                                  filter=item)
        name, op, value = item
        if not isinstance(name, str) or not name:
            raise ValidationError(f"metric filter {item!r}: the metric name must be a "
                                  f"non-empty string", filter=item)
        if op not in OPERATORS:
            raise ValidationError(f"metric filter {item!r}: unknown comparison {op!r}; use "
                                  f"one of {' '.join(OPERATORS)}", filter=item, valid=OPERATORS)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or math.isnan(value):
            raise ValidationError(f"metric filter {item!r}: the value must be a number, "
                                  f"not {value!r}", filter=item)
        checked.append((name, op, float(value)))
    return checked


# -- the latest value of a metric for every run -------------------------------------------
def _latest(name: str, label: str) -> sa.Subquery:
    """(run_id, value): each run's latest numeric point of metric `name`, from the
    summaries kept at ingest (one indexed row per run, not a scan of the points)."""
    s = t.metric_summaries.c
    return (sa.select(s.run_id, s.last_value.label("value")).where(s.name == name)
            .subquery(label))


def _compare(column: Any, op: str, value: float) -> Any:
    return {"<": column < value, "<=": column <= value, ">": column > value,
            ">=": column >= value, "=": column == value, "==": column == value,
            "!=": column != value}[op]


# -- a page of runs -----------------------------------------------------------------------
def search_runs(
    store: AbstractStore, *, experiment: str | None = None,
    status: str | Sequence[str] | None = None, tags: Mapping[str, str | None] | None = None,
    metric_filters: Sequence[tuple[str, str, float]] | None = None, text: str | None = None,
    order_by: str = "start", offset: int = 0, limit: int = 50,
    metric_columns: Sequence[str] = (), parent_id: str | None = None,
    top_level: bool = False,
) -> Page:
    """One page of runs matching every filter given: `status` (one or several), `tags`
    ({key: value}, None for "has the key"), `metric_filters` ([(name, op, value)] on the
    latest value; a run without the metric does not match), `text` (a case-insensitive
    substring of the display name or id), `parent_id` (the children of one run), or
    `top_level` (only runs that are no run's child); sorted by `order_by`."""
    key, metric, descending = _order(order_by)
    offset = _int("offset", offset, 0, 2**62)
    limit = _int("limit", limit, 1, MAX_LIMIT)
    filters = _metric_filters(metric_filters)
    columns = list(dict.fromkeys(metric_columns))
    for column in columns:
        if not isinstance(column, str) or not column:
            raise ValidationError(f"metric columns are metric names, not {column!r}",
                                  metric_columns=list(metric_columns))
    engine = _engine(store)
    r, e = t.runs.c, t.experiments.c

    # the filters and the sort work on narrow rows (ids); only the page's runs are read whole
    query = sa.select(r.id).join(t.experiments, r.experiment_id == e.id)
    if experiment is not None:
        query = query.where(e.name == experiment)
    if status is not None:
        chosen = [status] if isinstance(status, str) else list(status)
        query = query.where(r.status.in_(chosen))
    if parent_id is not None:
        query = query.where(r.parent_id == parent_id)
    if top_level:
        query = query.where(r.parent_id.is_(None))
    for tag, wanted in (tags or {}).items():
        match = sa.select(t.tags.c.run_id).where(t.tags.c.key == tag)
        if wanted is not None:
            match = match.where(t.tags.c.value == wanted)
        query = query.where(r.id.in_(match))
    if text:
        query = query.where(sa.or_(r.display_name.icontains(text, autoescape=True),
                                   r.id.icontains(text, autoescape=True)))
    for index, (name, op, bound) in enumerate(filters):
        latest = _latest(name, f"filter_{index}")
        query = query.join(latest, latest.c.run_id == r.id).where(
            _compare(latest.c.value, op, bound))

    filtered = query
    now = time.time()
    sort: Any
    if key == "metric":
        assert metric is not None
        latest = _latest(metric, "sort_metric")
        query = query.outerjoin(latest, latest.c.run_id == r.id)
        sort = latest.c.value
    elif key == "start":
        sort = sa.func.coalesce(r.start_time, r.created_at)
    elif key == "created":
        sort = r.created_at
    elif key == "duration":
        sort = sa.func.coalesce(r.end_time, now) - r.start_time
    elif key == "name":
        sort = sa.func.coalesce(r.display_name, r.id)
    else:
        sort = r.status
    missing_last = sa.case((sort.is_(None), 1), else_=0)
    ordered = query.order_by(missing_last, sort.desc() if descending else sort.asc(),
                             r.created_at.asc(), r.id.asc())

    with engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(
            filtered.subquery())).scalar_one())
        ids = list(conn.execute(ordered.offset(offset).limit(limit)).scalars())
        found_rows = {row.id: dict(row._mapping) for row in conn.execute(
            sa.select(t.runs, e.name.label("experiment"))
            .join(t.experiments, r.experiment_id == e.id).where(r.id.in_(ids)))} \
            if ids else {}
        rows = [found_rows[i] for i in ids]
        run_tags: dict[str, dict[str, str | None]] = {i: {} for i in ids}
        values: dict[str, dict[str, float | None]] = {i: dict.fromkeys(columns) for i in ids}
        if ids:
            for tag_row in conn.execute(sa.select(t.tags.c.run_id, t.tags.c.key, t.tags.c.value)
                                    .where(t.tags.c.run_id.in_(ids))
                                    .order_by(t.tags.c.key)):
                run_tags[tag_row.run_id][tag_row.key] = tag_row.value
            for column in columns:
                latest = _latest(column, "column")
                for found in conn.execute(sa.select(latest.c.run_id, latest.c.value)
                                          .where(latest.c.run_id.in_(ids))):
                    values[found.run_id][column] = found.value
    for run in rows:
        run["tags"] = run_tags[run["id"]]
        run["metrics"] = values[run["id"]]
        start, end = run["start_time"], run["end_time"]
        run["duration"] = None if start is None else (end if end is not None else now) - start
    return Page(runs=rows, total=total, offset=offset, limit=limit)


# -- a downsampled series -----------------------------------------------------------------
def _bucket_index(engine: sa.Engine, column: Any, x: str, low: float, width: float,
                  buckets: int) -> Any:
    """SQL for the bucket of x value `column`: buckets of `width` from `low`."""
    if x == "step":  # whole steps per bucket: integer division
        return (column - int(low)) // int(width)
    scaled = (column - low) / width
    index = sa.func.floor(scaled) if engine.dialect.name != "sqlite" \
        else sa.cast(scaled, sa.Integer)  # SQLite: CAST truncates, and scaled >= 0
    return sa.case((index >= buckets, buckets - 1), else_=index)


def _width(x: str, low: float, high: float, buckets: int) -> float:
    if x == "step":
        return float(max(1, math.ceil((high - low + 1) / buckets)))
    return (high - low) / buckets or 1.0


def metric_series(store: AbstractStore, run_id: str, name: str, *, buckets: int = 1000,
                  x: str = "step", rank: int | None = None) -> Series:
    """Metric `name` of run `run_id` (its numeric points; those of process `rank` only
    when given) in at most `buckets` buckets along `x`: "step" (a point without a step
    counts as its position among the metric's points), "time" (seconds since the epoch)
    or "relative" (seconds since the run started). Bucket `i` holds the points from
    `x[i]` (its first point's x) up to the next bucket's.

    A metric whose x never went backwards is bucketed from its blocks of 64 points
    (store/_summaries.py), each block whole in the bucket where it starts, when a bucket
    gets at least 2 blocks; otherwise from its points."""
    buckets = _int("buckets", buckets, 1, MAX_BUCKETS)
    if x not in X_MODES:
        raise ValidationError(f"unknown x {x!r}; use one of {', '.join(X_MODES)}",
                              x=x, valid=X_MODES)
    if rank is not None:
        rank = _int("rank", rank, 0, 2**31)
    engine = _engine(store)
    run = store.get_run(run_id)  # RunNotFoundError for an unknown run
    series = Series(run_id=run_id, name=name, x_mode=x)
    s = t.metric_summaries.c
    with engine.connect() as conn:
        summary = conn.execute(sa.select(t.metric_summaries).where(
            s.run_id == run_id, s.name == name)).first()
        if summary is None or not summary.points:
            return series
        offset = 0.0
        if x == "relative":
            offset = run["start_time"] if run["start_time"] is not None \
                else summary.first_time
        ordered = summary.step_ordered if x == "step" else summary.time_ordered
        if rank is None and ordered and summary.points >= buckets * 2 * BLOCK_POINTS:
            _from_blocks(conn, engine, series, summary, buckets, offset)
        else:
            _from_points(conn, engine, series, buckets, offset, rank,
                         numbered=not summary.steps_complete,
                         summary=summary if rank is None else None)
    return series


def _from_blocks(conn: sa.Connection, engine: sa.Engine, series: Series, summary: Any,
                 buckets: int, offset: float) -> None:
    b = t.metric_blocks.c
    where = (b.run_id == series.run_id, b.name == series.name)
    lo = b.step_lo if series.x_mode == "step" else b.time_lo
    low, high = _x_range(conn, series, offset)
    width = _width(series.x_mode, low, high, buckets)
    start = lo - offset if offset else lo
    bucket = _bucket_index(engine, start, series.x_mode, low, width, buckets).label("bucket")
    rows = conn.execute(sa.select(
        bucket, sa.func.min(start), sa.func.min(b.min_value), sa.func.max(b.max_value),
        sa.func.sum(b.sum_value), sa.func.sum(b.points)).where(*where)
        .group_by(bucket).order_by(bucket))
    for row in rows:
        count = int(row[5])
        series.x.append(float(row[1]))
        series.min.append(float(row[2]))
        series.max.append(float(row[3]))
        series.mean.append(float(row[4]) / count if row[4] is not None else math.nan)
        series.count.append(count)
    series.total = int(summary.points)
    series.overall_min, series.overall_max = summary.min_value, summary.max_value
    series.bucket_width = width


def _x_range(conn: sa.Connection, series: Series, offset: float) -> tuple[float, float]:
    """The smallest and largest x of the metric's points, from its blocks."""
    b = t.metric_blocks.c
    lo, hi = (b.step_lo, b.step_hi) if series.x_mode == "step" else (b.time_lo, b.time_hi)
    low, high = conn.execute(sa.select(sa.func.min(lo), sa.func.max(hi)).where(
        b.run_id == series.run_id, b.name == series.name)).one()
    return float(low) - offset, float(high) - offset


def _from_points(conn: sa.Connection, engine: sa.Engine, series: Series, buckets: int,
                 offset: float, rank: int | None, numbered: bool,
                 summary: Any | None) -> None:
    """From the points themselves (`summary`, when given, saves a pass over them)."""
    m = t.metrics.c
    where = [m.run_id == series.run_id, m.name == series.name, m.kind == "s",
             m.value.is_not(None)]
    if rank is not None:
        where.append(m.rank == rank)
    points = sa.select(m.id, m.step, m.value, m.time).where(*where).subquery("points")
    p = points.c
    if series.x_mode == "step" and numbered and rank is None:
        # a point without a step: its position among the metric's points stands in
        ordinal = sa.func.row_number().over(order_by=p.id) - 1
        source = sa.select(p.id, p.value, sa.func.coalesce(p.step, ordinal).label("x")) \
            .subquery("numbered")
    elif series.x_mode == "step":  # (with a rank, points without a step are left out)
        source = sa.select(p.id, p.value, p.step.label("x")).subquery("stepped")
    else:
        source = sa.select(p.id, p.value, (p.time - offset).label("x")).subquery("timed")
    c = source.c
    if summary is not None:
        total, smallest, largest = summary.points, summary.min_value, summary.max_value
        low, high = _x_range(conn, series, offset)
    else:
        total, low, high, smallest, largest = conn.execute(sa.select(
            sa.func.count(), sa.func.min(c.x), sa.func.max(c.x), sa.func.min(c.value),
            sa.func.max(c.value)).where(c.x.is_not(None))).one()
    if not total:
        return
    series.total = int(total)
    series.overall_min, series.overall_max = float(smallest), float(largest)
    if total <= buckets:
        for row in conn.execute(sa.select(c.x, c.value).where(c.x.is_not(None))
                                .order_by(c.x, c.id)):
            series.x.append(float(row[0]))
            series.min.append(float(row[1]))
            series.max.append(float(row[1]))
            series.mean.append(float(row[1]))
            series.count.append(1)
        return
    low, high = float(low), float(high)
    width = _width(series.x_mode, low, high, buckets)
    bucket = _bucket_index(engine, c.x, series.x_mode, low, width, buckets).label("bucket")
    rows = conn.execute(sa.select(
        bucket, sa.func.min(c.x), sa.func.min(c.value), sa.func.max(c.value),
        sa.func.avg(c.value), sa.func.count()).where(c.x.is_not(None))
        .group_by(bucket).order_by(bucket))
    for found in rows:
        series.x.append(float(found[1]))
        series.min.append(float(found[2]))
        series.max.append(float(found[3]))
        series.mean.append(float(found[4]) if found[4] is not None else math.nan)
        series.count.append(int(found[5]))
    series.bucket_width = width


def metric_names(store: AbstractStore, run_id: str) -> list[dict[str, Any]]:
    """[{"name", "kind", "count"}] for each metric of a run, by name, counted in SQL (a
    metric logged as several kinds shows the kind of most of its points)."""
    engine = _engine(store)
    m = t.metrics.c
    counts: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for name, kind, count in conn.execute(
                sa.select(m.name, m.kind, sa.func.count()).where(m.run_id == run_id)
                .group_by(m.name, m.kind)):
            counts.setdefault(name, {})[kind] = int(count)
    return [{"name": name, "kind": max(kinds, key=lambda k: (kinds[k], k == "s")),
             "count": sum(kinds.values())} for name, kinds in sorted(counts.items())]
