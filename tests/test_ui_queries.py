"""The run browser's reads (store/_queries.py) on a real SQLite store: a page of runs
filtered, sorted and counted in SQL; a metric series downsampled with each bucket's exact
min and max; the summaries kept at ingest that both read (store/_summaries.py)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from runyard.errors import RunNotFoundError, StoreError, ValidationError
from runyard.store import _queries as q
from runyard.store._summaries import BLOCK_POINTS
from runyard.store.base import MetricRow
from runyard.store.sql import SqlStore


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    opened = SqlStore(f"sqlite:///{tmp_path / 'runs.db'}")
    yield opened  # type: ignore[misc]
    opened.close()


def point(run_id: str, name: str, step: int | None, value: float | None,
          when: float = 1000.0, kind: str = "s", text: str | None = None,
          rank: int = 0) -> MetricRow:
    return MetricRow(run_id, name, kind, step, value, text, when, rank)


def make_run(store: SqlStore, run_id: str, *, experiment: str = "exp",
             name: str | None = None, status: str = "Completed",
             tags: dict[str, str] | None = None) -> None:
    store.create_run(run_id, experiment, compute_target="local", config=None,
                     snapshot_id=None, display_name=name, status="Running", tags=tags)
    if status != "Running":
        store.set_status(run_id, status)


@pytest.fixture
def runs(store: SqlStore) -> SqlStore:
    """r00..r11: loss = the run's number / 10 (its last point; an earlier one is 99),
    except r03 and r07 (no loss) and r05, r06 (the same loss, a tie); odd runs Failed,
    a tag `group` = number % 3, names "trial N", r10 and r11 in experiment "other"."""
    for number in range(12):
        run_id = f"r{number:02d}"
        make_run(store, run_id, experiment="other" if number >= 10 else "exp",
                 name=f"trial {number}" if number != 4 else "Best_50%",
                 status="Failed" if number % 2 else "Completed",
                 tags={"group": str(number % 3)})
        if number in (3, 7):
            store.insert_metrics([point(run_id, "acc", 0, 0.5)])
            continue
        loss = 0.55 if number in (5, 6) else number / 10
        store.insert_metrics([point(run_id, "loss", 0, 99.0),
                              point(run_id, "loss", 1, loss),
                              point(run_id, "acc", 1, 1 - loss)])
    return store


def ids(page: q.Page) -> list[str]:
    return [run["id"] for run in page.runs]


def test_sorted_by_a_metric_runs_lacking_it_come_last_in_both_directions(
        runs: SqlStore) -> None:
    page = q.search_runs(runs, order_by="metric:loss", limit=50, metric_columns=["loss"])
    assert ids(page) == ["r00", "r01", "r02", "r04", "r05", "r06", "r08", "r09", "r10",
                         "r11", "r03", "r07"]
    assert page.total == 12
    assert [run["metrics"]["loss"] for run in page.runs][:3] == [0.0, 0.1, 0.2]
    assert page.runs[-1]["metrics"] == {"loss": None}
    down = q.search_runs(runs, order_by="-metric:loss", limit=50)
    # the tie (r05, r06) keeps creation order in both directions; no loss still last
    assert ids(down) == ["r11", "r10", "r09", "r08", "r05", "r06", "r04", "r02", "r01",
                         "r00", "r03", "r07"]


def test_pages_of_a_sorted_search_cover_every_run_once(runs: SqlStore) -> None:
    seen: list[str] = []
    for offset in range(0, 12, 5):
        page = q.search_runs(runs, order_by="-metric:loss", offset=offset, limit=5)
        assert (page.total, page.offset, page.limit) == (12, offset, 5)
        seen += ids(page)
    assert seen == ids(q.search_runs(runs, order_by="-metric:loss", limit=50))
    assert len(set(seen)) == 12


def test_filters_combine(runs: SqlStore) -> None:
    page = q.search_runs(runs, experiment="exp", status="Completed",
                         metric_filters=[("loss", ">=", 0.2)], order_by="name")
    assert ids(page) == ["r04", "r02", "r06", "r08"]  # "Best_50%" < "trial 2" < ...
    page = q.search_runs(runs, tags={"group": "0"}, status=["Completed", "Failed"],
                         metric_filters=[("loss", "<", 0.95), ("acc", ">", 0.1)])
    assert sorted(ids(page)) == ["r00", "r06"]  # r03 has no loss, r09 0.9 but acc 0.1
    assert page.total == 2
    assert ids(q.search_runs(runs, tags={"group": None}, experiment="other")) == \
        ["r10", "r11"]
    # the latest value counts, not an earlier one (99 was every run's first loss)
    assert q.search_runs(runs, metric_filters=[("loss", ">", 50)]).total == 0
    assert ids(q.search_runs(runs, metric_filters=[("loss", "=", 0.55)])) == ["r05", "r06"]
    assert q.search_runs(runs, metric_filters=[("loss", "!=", 0.55)]).total == 8


def test_text_search_on_names_and_ids_is_a_literal_case_insensitive_substring(
        runs: SqlStore) -> None:
    assert ids(q.search_runs(runs, text="TRIAL 1", order_by="name")) == \
        ["r01", "r10", "r11"]
    assert ids(q.search_runs(runs, text="r08")) == ["r08"]
    assert ids(q.search_runs(runs, text="50%")) == ["r04"]  # % is no wildcard
    assert ids(q.search_runs(runs, text="_5")) == ["r04"]  # nor _
    assert q.search_runs(runs, text="no such run").total == 0


def test_page_rows_carry_tags_duration_and_metric_columns(runs: SqlStore) -> None:
    page = q.search_runs(runs, text="r02", metric_columns=["loss", "acc", "missing"])
    (run,) = page.runs
    assert run["experiment"] == "exp"
    assert run["status"] == "Completed"
    assert run["tags"] == {"group": "2"}
    assert run["metrics"] == {"loss": 0.2, "acc": 0.8, "missing": None}
    assert run["duration"] == pytest.approx(run["end_time"] - run["start_time"])


def test_the_other_sort_keys(store: SqlStore) -> None:
    make_run(store, "slow", name="b")
    time.sleep(0.05)
    make_run(store, "quick", name="a")
    make_run(store, "active", name="c", status="Running")
    store.create_run("queued", "exp", compute_target="local", config=None,
                     snapshot_id=None, display_name="d")
    with store.engine.begin() as conn:  # durations: slow 50 s, quick 1 s
        conn.execute(sa.text("UPDATE runs SET start_time = 100, end_time = 150 "
                             "WHERE id = 'slow'"))
        conn.execute(sa.text("UPDATE runs SET start_time = 200, end_time = 201 "
                             "WHERE id = 'quick'"))
    # an active run's duration runs to now (a moment here); no start yet: last
    assert ids(q.search_runs(store, order_by="duration")) == \
        ["active", "quick", "slow", "queued"]
    assert ids(q.search_runs(store, order_by="-duration")) == \
        ["slow", "quick", "active", "queued"]
    assert ids(q.search_runs(store, order_by="name")) == ["quick", "slow", "active", "queued"]
    assert ids(q.search_runs(store, order_by="-name")) == ["queued", "active", "slow", "quick"]
    # a run not started yet sorts by when it was created
    assert ids(q.search_runs(store, order_by="start")) == ["slow", "quick", "active", "queued"]
    assert ids(q.search_runs(store, order_by="-start")) == ["queued", "active", "quick", "slow"]
    assert ids(q.search_runs(store, order_by="status")) == \
        ["slow", "quick", "queued", "active"]  # Completed < NotStarted < Running


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"order_by": "size"}, "unknown order_by key 'size'"),
    ({"order_by": "metric:"}, "names no metric"),
    ({"order_by": "-"}, "order_by must be one of"),
    ({"metric_filters": [("loss", "~", 1)]}, "unknown comparison '~'"),
    ({"metric_filters": [("loss", "<", "x")]}, "must be a number"),
    ({"metric_filters": [("loss", "<")]}, "is (name, op, value)"),
    ({"limit": 0}, "limit must be a whole number"),
    ({"offset": -1}, "offset must be a whole number"),
    ({"metric_columns": [""]}, "metric columns are metric names"),
])
def test_bad_search_input_is_refused_with_its_value(store: SqlStore, kwargs: dict,
                                                    message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(
            ")", r"\)")):
        q.search_runs(store, **kwargs)


# -- series -------------------------------------------------------------------------------
def bucket_of(series: q.Series, x: float) -> int:
    """The bucket holding the point at `x`: the last one starting at or before it."""
    return max(i for i, start in enumerate(series.x) if start <= x)


@pytest.mark.parametrize("points", [20_000, 2 * 1000 * BLOCK_POINTS + 777])
def test_a_spike_at_a_random_step_is_its_buckets_max(store: SqlStore, points: int) -> None:
    """From the points (20,000 in 1,000 buckets) and from the blocks (~129k)."""
    rng = random.Random(points)
    spike = rng.randrange(points)
    dip = rng.randrange(points)
    values = [rng.uniform(0, 1) for _ in range(points)]
    values[spike], values[dip] = 50.0, -7.0
    make_run(store, "r")
    rows = [point("r", "loss", step, value, when=1000 + step / 10)
            for step, value in enumerate(values)]
    for start in range(0, points, 7_000):  # in several transactions, as the ingest does
        store.insert_metrics(rows[start:start + 7_000])
    series = q.metric_series(store, "r", "loss", buckets=1000)
    assert len(series.x) <= 1000
    assert series.x == sorted(series.x)
    assert series.total == sum(series.count) == points
    assert (series.overall_min, series.overall_max) == (-7.0, 50.0)
    assert series.max[bucket_of(series, spike)] == 50.0
    assert series.min[bucket_of(series, dip)] == -7.0
    assert sorted(series.max)[-2] < 1  # no other bucket claims the spike
    # every bucket's extremes are exactly those of the points it holds
    bounds = [*series.x[1:], float("inf")]
    for i, (start, end) in enumerate(zip(series.x, bounds, strict=True)):
        held = values[int(start):int(min(end, points))]
        assert (series.min[i], series.max[i], series.count[i]) == \
            (min(held), max(held), len(held))
        assert series.mean[i] == pytest.approx(sum(held) / len(held))
    timed = q.metric_series(store, "r", "loss", buckets=1000, x="time")
    assert timed.max[bucket_of(timed, 1000 + spike / 10)] == 50.0
    assert (timed.overall_min, timed.overall_max) == (-7.0, 50.0)


def test_fewer_points_than_buckets_come_back_point_by_point(store: SqlStore) -> None:
    make_run(store, "r")
    store.insert_metrics([point("r", "loss", step, float(step * step), when=500.0 + step)
                          for step in (3, 1, 2)])
    series = q.metric_series(store, "r", "loss", buckets=10)
    assert (series.x, series.min, series.max, series.count) == \
        ([1.0, 2.0, 3.0], [1.0, 4.0, 9.0], [1.0, 4.0, 9.0], [1, 1, 1])
    assert series.bucket_width is None
    assert series.total == 3
    relative = q.metric_series(store, "r", "loss", x="relative")
    start = store.get_run("r")["start_time"]
    assert relative.x == pytest.approx([500 + s - start for s in (1, 2, 3)])
    assert q.metric_series(store, "r", "loss", x="time").x == [501.0, 502.0, 503.0]
    one = q.metric_series(store, "r", "loss", buckets=1)
    assert (one.x, one.min, one.max, one.count) == ([1.0], [1.0], [9.0], [3])


def test_x_modes_and_points_without_steps(store: SqlStore) -> None:
    make_run(store, "r")
    # no steps: a point's position stands in; a string, a NaN and a table are no points
    store.insert_metrics([point("r", "m", None, float(i), when=2000.0 + 2 * i)
                          for i in range(10)] +
                         [point("r", "m", None, None, text="n/a"),
                          point("r", "m", None, float("nan")),
                          point("r", "m", None, None, kind="table", text="{}")])
    series = q.metric_series(store, "r", "m", buckets=5)
    assert series.x == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert series.count == [2] * 5
    assert series.max == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert series.total == 10
    timed = q.metric_series(store, "r", "m", buckets=5, x="time")
    assert timed.x == [2000.0, 2004.0, 2008.0, 2012.0, 2016.0]
    assert timed.max == [1.0, 3.0, 5.0, 7.0, 9.0]
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET start_time = 1990 WHERE id = 'r'"))
    relative = q.metric_series(store, "r", "m", buckets=5, x="relative")
    assert relative.x == [10.0, 14.0, 18.0, 22.0, 26.0]
    assert q.metric_series(store, "r", "absent").total == 0


def test_a_metric_whose_steps_go_back_is_bucketed_from_its_points(store: SqlStore) -> None:
    """Steps out of order (a restart from a checkpoint) defeat the blocks' x ranges; the
    envelope stays exact."""
    make_run(store, "r")
    points = 2 * 1000 * BLOCK_POINTS + 10
    steps = list(range(points))
    steps[-10:] = range(10)  # the last ten points go back to steps 0..9
    values = [0.0] * points
    values[-3] = 9.0  # at step 7
    store.insert_metrics([point("r", "loss", s, v) for s, v in zip(steps, values,
                                                                   strict=True)])
    series = q.metric_series(store, "r", "loss", buckets=1000)
    assert series.max[bucket_of(series, 7)] == 9.0
    assert series.count[0] == series.count[1] + 10


def test_rank_picks_one_process(store: SqlStore) -> None:
    make_run(store, "r")
    store.insert_metrics([point("r", "loss", s, float(rank * 100 + s), rank=rank)
                          for s in range(5) for rank in (0, 1)])
    assert q.metric_series(store, "r", "loss", rank=1).max == [100.0, 101.0, 102.0,
                                                              103.0, 104.0]
    assert q.metric_series(store, "r", "loss").total == 10


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"buckets": 0}, "buckets must be a whole number from 1 to 100,000, not 0"),
    ({"buckets": 100_001}, "not 100001"),
    ({"buckets": 2.5}, "not 2.5"),
    ({"x": "epoch"}, "unknown x 'epoch'; use one of step, time, relative"),
    ({"rank": -1}, "rank must be"),
])
def test_bad_series_input_is_refused(store: SqlStore, kwargs: dict, message: str) -> None:
    make_run(store, "r")
    with pytest.raises(ValidationError, match=message):
        q.metric_series(store, "r", "loss", **kwargs)


def test_an_unknown_run_is_run_not_found(store: SqlStore) -> None:
    with pytest.raises(RunNotFoundError):
        q.metric_series(store, "nope", "loss")


# -- the summaries, across upgrades -------------------------------------------------------
def test_the_upgrade_summarises_points_stored_before_it(tmp_path: Path) -> None:
    """A store at revision 0006 with points: upgrading builds their summaries, and the
    queries answer as for points stored after."""
    from alembic import command
    from alembic.config import Config

    from runyard.store.sql import _MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        conn.execute(sa.text("INSERT INTO experiments (name, created_at) VALUES ('e', 1)"))
        conn.execute(sa.text(
            "INSERT INTO runs (id, experiment_id, number, status, created_at) "
            "VALUES ('a', 1, 1, 'Completed', 1), ('b', 1, 2, 'Completed', 2)"))
        conn.execute(sa.text(
            "INSERT INTO metrics (run_id, name, kind, step, value, time, rank) VALUES "
            "('a', 'loss', 's', 0, 5, 10, 0), ('a', 'loss', 's', 1, 3, 11, 0), "
            "('b', 'loss', 's', 0, 4, 10, 0)"))
    engine.dispose()
    store = SqlStore(url)
    try:
        assert ids(q.search_runs(store, order_by="metric:loss")) == ["a", "b"]
        store.insert_metrics([point("a", "loss", 2, 6.0)])
        assert ids(q.search_runs(store, order_by="metric:loss")) == ["b", "a"]
        series = q.metric_series(store, "a", "loss")
        assert (series.x, series.max, series.total) == ([0.0, 1.0, 2.0], [5.0, 3.0, 6.0], 3)
    finally:
        store.close()


def test_a_failed_insert_leaves_no_summary_behind(store: SqlStore) -> None:
    make_run(store, "r")
    store.insert_metrics([point("r", "loss", 0, 1.0)])
    bad = point("r", None, 2, 3.0)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="NOT NULL"):
        store.insert_metrics([point("r", "loss", 1, 2.0), bad])
    page = q.search_runs(store, metric_columns=["loss"])
    assert page.runs[0]["metrics"] == {"loss": 1.0}
    assert q.metric_series(store, "r", "loss").total == 1


def test_metric_names_count_each_metric(store: SqlStore) -> None:
    make_run(store, "r")
    store.insert_metrics([point("r", "loss", s, 1.0) for s in range(3)] +
                         [point("r", "image", None, None, kind="image", text="{}"),
                          point("r", "note", None, None, text="hello")])
    assert q.metric_names(store, "r") == [
        {"name": "image", "kind": "image", "count": 1},
        {"name": "loss", "kind": "s", "count": 3},
        {"name": "note", "kind": "s", "count": 1}]
    assert q.metric_names(store, "absent") == []


def test_top_level_leaves_out_every_child_run(store: SqlStore) -> None:
    make_run(store, "parent")
    store.create_run("parent_0", "exp", compute_target="local", config=None,
                     snapshot_id=None, display_name="fold 0", status="Running",
                     parent_id="parent")
    make_run(store, "alone")
    assert sorted(ids(q.search_runs(store))) == ["alone", "parent", "parent_0"]
    assert sorted(ids(q.search_runs(store, top_level=True))) == ["alone", "parent"]
    assert q.search_runs(store, top_level=True).total == 2
    assert ids(q.search_runs(store, parent_id="parent")) == ["parent_0"]
