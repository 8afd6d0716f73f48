from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from runyard.errors import PropertyImmutableError, RunNotFoundError, UnknownBackendError
from runyard.store import open_store
from runyard.store._schema import metadata
from runyard.store.sql import HEAD_REVISION, SqlStore


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    return SqlStore(f"sqlite:///{tmp_path / 'h.db'}")


def test_a_new_database_is_migrated_to_the_head_revision(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == \
            HEAD_REVISION


def test_migrations_build_exactly_the_schema_the_code_describes(store: SqlStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_reopening_an_existing_store_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    SqlStore(url).ensure_experiment("e1")
    assert [e["name"] for e in SqlStore(url).list_experiments()] == ["e1"]


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(UnknownBackendError, match="sqlite"):
        open_store("mongodb://localhost/x")


def test_status_changes_are_compare_and_set_and_end_states_are_final(store: SqlStore) -> None:
    store.create_run("r1", "e", compute_target="local", config={"kind": "script"},
                     snapshot_id=None)
    assert store.set_status("r1", "Preparing", only_if=["NotStarted"])
    assert not store.set_status("r1", "Running", only_if=["NotStarted"])
    assert store.set_status("r1", "Failed", error="boom")
    assert not store.set_status("r1", "Completed")
    assert [e["status"] for e in store.status_events("r1")] == \
        ["NotStarted", "Preparing", "Failed"]
    assert store.get_run("r1")["error"] == "boom"
    assert store.get_run("r1")["end_time"] is not None


def test_properties_are_write_once(store: SqlStore) -> None:
    store.create_run("r1", "e", compute_target=None, config=None, snapshot_id=None)
    store.add_properties("r1", {"a": "1"})
    store.add_properties("r1", {"a": "1"})
    with pytest.raises(PropertyImmutableError, match="'a'"):
        store.add_properties("r1", {"a": "2"})


def test_metrics_keep_their_order_kind_and_rank(store: SqlStore) -> None:
    store.create_run("r1", "e", compute_target=None, config=None, snapshot_id=None)
    store.insert_metrics([("r1", "loss", "s", None, 0.5, None, 1.0, 0),
                          ("r1", "loss", "s", 7, 0.25, None, 2.0, 1),
                          ("r1", "note", "s", None, None, "ok", 3.0, 0)])
    rows = store.get_metrics("r1", "loss")
    assert [(r["value"], r["step"], r["rank"]) for r in rows] == [(0.5, None, 0), (0.25, 7, 1)]
    assert store.count_metrics("r1") == 3


def test_unknown_run_is_a_clear_error(store: SqlStore) -> None:
    with pytest.raises(RunNotFoundError, match="nope"):
        store.get_run("nope")


def test_run_numbers_count_up_per_experiment(store: SqlStore) -> None:
    for index in range(3):
        store.create_run(f"r{index}", "e", compute_target=None, config=None, snapshot_id=None)
    assert [r["number"] for r in store.list_runs(experiment="e")] == [3, 2, 1]


def test_tags_filter_runs(store: SqlStore) -> None:
    store.create_run("r1", "e", compute_target=None, config=None, snapshot_id=None,
                     tags={"team": "a"})
    store.create_run("r2", "e", compute_target=None, config=None, snapshot_id=None)
    assert [r["id"] for r in store.list_runs(tags={"team": "a"})] == ["r1"]
    assert [r["id"] for r in store.list_runs(tags={"team": None})] == ["r1"]
    store.set_tags("r2", {"team": "b"})
    assert {r["id"] for r in store.list_runs(tags={"team": None})} == {"r1", "r2"}


def test_sqlite_write_transactions_take_the_write_lock_up_front(store: SqlStore) -> None:
    # BEGIN IMMEDIATE: two writers queue on the busy timeout instead of failing
    with store._write() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
        other = sa.create_engine(store.url, connect_args={"timeout": 0.1})
        with other.connect() as second, pytest.raises(sa.exc.OperationalError,
                                                      match="locked"):
            second.exec_driver_sql("BEGIN IMMEDIATE")
        other.dispose()


def test_a_store_made_at_an_older_revision_is_upgraded_when_opened(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from runyard.store.sql import _MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = SqlStore(url)
    old.ensure_experiment("kept")
    with old.engine.connect() as conn:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")  # as an older runyard left it
        conn.commit()
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0001"
    old.close()
    reopened = SqlStore(url)
    assert reopened.get_environment("none") is None  # the newer table is there
    assert [e["name"] for e in reopened.list_experiments()] == ["kept"]
    with reopened.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == \
            HEAD_REVISION
