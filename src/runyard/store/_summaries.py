"""Metric summaries kept at ingest, so a run browser never scans every point.

For each run's numeric metric (scalar points with a finite-or-infinite number, NaN left
out) the store keeps, in the write transaction that inserts its points:
- one `metric_summaries` row: how many points, the exact min and max, the latest value
  (the point inserted last), its step and time, the first time, and whether the points'
  steps and times never went backwards in insertion order;
- `metric_blocks`: the points in insertion order cut into blocks of BLOCK_POINTS, each
  with its count, exact min/max, sum and x ranges (step and time).

Invariant: a point's position is its 0-based rank among its metric's numeric points in
insertion order; a point without a step takes its position as its step ("x = step").
Rows are grouped per (run, name), so any mix of runs and metrics in one call is fine; the
summary rows are read inside the same write transaction (SQLite writers are serialised by
BEGIN IMMEDIATE, elsewhere the rows are locked FOR UPDATE), so two writers never give two
points the same position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from runyard.store import _schema as t
from runyard.store.base import MetricRow

BLOCK_POINTS = 64
_RUN, _NAME, _KIND, _STEP, _VALUE, _TIME = (itemgetter(i) for i in (0, 1, 2, 3, 4, 6))


_statements: dict[str, tuple[Any, Any, Any, Any]] = {}


def _lower(column: Any, new: Any) -> Any:
    return sa.case((sa.or_(column.is_(None), new < column), new), else_=column)


def _higher(column: Any, new: Any) -> Any:
    return sa.case((sa.or_(column.is_(None), new > column), new), else_=column)


def _built(dialect: str) -> tuple[Any, Any, Any, Any]:
    """(read the summaries, make the missing ones, upsert summaries, upsert blocks) for
    `dialect`, built once: building an upsert costs more than running one."""
    built = _statements.get(dialect)
    if built is not None:
        return built
    insert: Any
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        insert = pg_insert
    else:  # pragma: no cover - the store speaks SQLite and PostgreSQL
        raise NotImplementedError(f"metric summaries on {dialect}")
    s, b = t.metric_summaries.c, t.metric_blocks.c
    read = sa.select(t.metric_summaries).where(
        s.run_id.in_(sa.bindparam("run_ids", expanding=True)),
        s.name.in_(sa.bindparam("names", expanding=True)))
    if dialect != "sqlite":
        read = read.with_for_update()
    make = insert(t.metric_summaries).on_conflict_do_nothing()
    summaries = insert(t.metric_summaries)
    x = summaries.excluded
    summaries = summaries.on_conflict_do_update(
        index_elements=["run_id", "name"],
        set_={"points": x.points,
              "min_value": _lower(s.min_value, x.min_value),
              "max_value": _higher(s.max_value, x.max_value),
              "last_value": x.last_value, "last_step": x.last_step,
              "last_time": x.last_time, "last_x": x.last_x, "first_time": x.first_time,
              "step_ordered": x.step_ordered, "time_ordered": x.time_ordered,
              "steps_complete": x.steps_complete})
    blocks = insert(t.metric_blocks)
    x = blocks.excluded
    blocks = blocks.on_conflict_do_update(
        index_elements=["run_id", "name", "block"],
        set_={"points": b.points + x.points,
              "min_value": _lower(b.min_value, x.min_value),
              "max_value": _higher(b.max_value, x.max_value),
              "sum_value": b.sum_value + x.sum_value,
              "step_lo": _lower(b.step_lo, x.step_lo), "step_hi": _higher(b.step_hi, x.step_hi),
              "time_lo": _lower(b.time_lo, x.time_lo),
              "time_hi": _higher(b.time_hi, x.time_hi)})
    built = _statements[dialect] = (read, make, summaries, blocks)
    return built


def _ordered(values: list[Any], before: float | None) -> bool:
    """Whether `values` never go down, nor below `before`."""
    if before is not None and values[0] < before:
        return False
    return values == sorted(values)  # linear on sorted input (a single run for timsort)


def _numeric_groups(rows: Sequence[MetricRow]) -> dict[tuple[str, str], list[MetricRow]]:
    """The numeric points of `rows` by (run, name), each metric's in insertion order."""
    grouped: dict[tuple[str, str], list[MetricRow]]
    run_ids = set(map(_RUN, rows))
    if len(run_ids) == 1:  # the usual batch: one run's; a stable sort keeps the order
        run_id = run_ids.pop()
        grouped = {(run_id, name): list(points)
                   for name, points in groupby(sorted(rows, key=_NAME), _NAME)}
    else:
        grouped = defaultdict(list)
        for row in rows:
            grouped[row[0], row[1]].append(row)
    numeric: dict[tuple[str, str], list[MetricRow]] = {}
    for key, points in grouped.items():
        values = list(map(_VALUE, points))
        total = None if None in values else sum(values)
        # NaN != NaN (SQLite stores NaN as NULL, so the summaries leave it out too)
        if total is None or total != total or set(map(_KIND, points)) != {"s"}:
            points = [p for p in points if p[2] == "s" and p[4] is not None and p[4] == p[4]]
        if points:
            numeric[key] = points
    return numeric


def summarize(conn: sa.Connection, rows: Sequence[MetricRow]) -> None:
    """Fold `rows` (just inserted on `conn`, in this order) into the summaries."""
    groups = _numeric_groups(rows)
    if not groups:
        return
    read, make, upsert_summaries, upsert_blocks = _built(conn.dialect.name)
    run_ids = sorted({run_id for run_id, _ in groups})
    names = sorted({name for _, name in groups})
    if conn.dialect.name != "sqlite":
        conn.execute(make, [{"run_id": r, "name": n, "points": 0, "step_ordered": True,
                             "time_ordered": True, "steps_complete": True} for r, n in groups])
    existing = {(e.run_id, e.name): e for e in
                conn.execute(read, {"run_ids": run_ids, "names": names})
                if (e.run_id, e.name) in groups}

    summaries: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for (run_id, name), points in groups.items():
        before = existing.get((run_id, name))
        start = int(before.points) if before is not None else 0
        values = list(map(_VALUE, points))
        steps = list(map(_STEP, points))
        complete = None not in steps
        if not complete:  # a point without a step: its position stands in
            steps = [p[3] if p[3] is not None else start + i for i, p in enumerate(points)]
        times = list(map(_TIME, points))
        last = points[-1]
        summaries.append({
            "run_id": run_id, "name": name, "points": start + len(points),
            "min_value": min(values), "max_value": max(values),
            "last_value": values[-1], "last_step": last[3], "last_time": last[6],
            "last_x": steps[-1],
            "first_time": before.first_time if before is not None and
            before.first_time is not None else times[0],
            "step_ordered": (before is None or bool(before.step_ordered)) and _ordered(
                steps, None if before is None else before.last_x),
            "time_ordered": (before is None or bool(before.time_ordered)) and _ordered(
                times, None if before is None else before.last_time),
            "steps_complete": complete and (before is None or bool(before.steps_complete)),
        })
        index, position = 0, start
        while index < len(points):
            block = position // BLOCK_POINTS
            size = min(len(points) - index, (block + 1) * BLOCK_POINTS - position)
            part = values[index:index + size]
            step_part = steps[index:index + size]
            time_part = times[index:index + size]
            blocks.append({
                "run_id": run_id, "name": name, "block": block, "points": size,
                "min_value": min(part), "max_value": max(part), "sum_value": sum(part),
                "step_lo": min(step_part), "step_hi": max(step_part),
                "time_lo": min(time_part), "time_hi": max(time_part),
            })
            index += size
            position += size
    conn.execute(upsert_summaries, summaries)
    conn.execute(upsert_blocks, blocks)


def rebuild(conn: sa.Connection, chunk: int = 50_000) -> None:
    """Summarise every stored point from scratch (the migration that adds the tables)."""
    conn.execute(t.metric_blocks.delete())
    conn.execute(t.metric_summaries.delete())
    m = t.metrics.c
    last_id = 0
    while True:
        rows = conn.execute(sa.select(m.id, m.run_id, m.name, m.kind, m.step, m.value,
                                      m.text, m.time, m.rank)
                            .where(m.id > last_id, m.kind == "s", m.value.is_not(None))
                            .order_by(m.id).limit(chunk)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        summarize(conn, [MetricRow(*r[1:]) for r in rows])
