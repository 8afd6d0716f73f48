"""The run history on SQLAlchemy 2 Core: SQLite (WAL) embedded, PostgreSQL by URL.

Invariants:
- The schema is brought to the newest Alembic revision when a store opens; the check is a
  single read of `alembic_version`, Alembic itself is imported only when work is due.
- SQLite write transactions start with BEGIN IMMEDIATE, so concurrent supervisors wait on
  the busy timeout instead of failing on a read→write lock upgrade.
- SQLAlchemy's errors leave as runyard's (`runyard._foreign`, boundary "store"), mapped
  where every call passes: opening the store, `_write` and `_read`; the busy timeout is
  the URL's `?timeout=` in seconds (60 when not given).
- `set_status` is a compare-and-set: a status is only written from an expected one, so a
  reader that marks a dead run Failed can never overwrite an end state the supervisor wrote.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from runyard import _status
from runyard._foreign import mapped, without_password
from runyard.errors import (
    ModelNotFoundError,
    PropertyImmutableError,
    RunNotFoundError,
    StoreConflictError,
    ValidationError,
)
from runyard.store import _schema as t
from runyard.store import _summaries
from runyard.store.base import AbstractStore, MetricRow

HEAD_REVISION = "0007"
METRIC_ROWS_PER_STATEMENT = 100
METRIC_TRANSACTION_ROWS = 50_000
_METRIC_KEYS = MetricRow._fields  # the metrics table's columns, in the row's order
_MIGRATIONS = Path(__file__).parent / "migrations"
_migrate_lock = threading.Lock()


def _busy_timeout(url: str) -> float:
    """The seconds a SQLite writer waits for the lock: the URL's ?timeout=, else 60."""
    given = sa.engine.make_url(url).query.get("timeout", "60")
    text = given[-1] if isinstance(given, tuple) else given
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValidationError(f"store URL {without_password(url)!r}: timeout must be a number "
                              f"of seconds, not {text!r}", url=without_password(url))
    return seconds


def _sqlite_engine(url: str) -> sa.Engine:
    timeout = _busy_timeout(url)
    engine = sa.create_engine(url, connect_args={"timeout": timeout,
                                                 "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={round(timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("runyard_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class _CompiledInsert:
    """A multi-row INSERT compiled for one dialect, and how to lay out its parameters."""

    def __init__(self, sql: str, row_major_positional: bool) -> None:
        self.sql = sql
        self.row_major_positional = row_major_positional

    def parameters(self, rows: Sequence[MetricRow], per_statement: int) -> list[Any]:
        groups = [rows[i:i + per_statement] for i in range(0, len(rows), per_statement)]
        if self.row_major_positional:
            return [tuple(chain.from_iterable(group)) for group in groups]
        return [{f"{key}_{index}": value for index, row in enumerate(group)
                 for key, value in zip(_METRIC_KEYS, row, strict=True)} for group in groups]


class SqlStore(AbstractStore):
    """Run history in any database SQLAlchemy speaks to."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._shown = without_password(url)
        self._where = f"run history {self._shown}"
        with mapped("store-open", self._where, url=self._shown):
            if url.startswith("sqlite"):
                database = sa.engine.make_url(url).database
                if database and database != ":memory:":
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                self.engine = _sqlite_engine(url)
            else:
                self.engine = sa.create_engine(url, pool_pre_ping=True)
            self._migrate()
        self._metric_sql: dict[int, _CompiledInsert] = {}

    # -- plumbing -------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.engine.connect() as conn:
            try:
                current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            except sa.exc.OperationalError:
                current = None
            except sa.exc.ProgrammingError:
                current = None
        if current == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        with _migrate_lock, self.engine.connect() as conn:
            conn = conn.execution_options(runyard_write=True)
            with conn.begin():
                config = Config()
                config.set_main_option("script_location", str(_MIGRATIONS))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")

    @contextmanager
    def _write(self, about: str | None = None, **context: Any) -> Iterator[sa.Connection]:
        """A write transaction; its errors name `about` ("run 'r1'") and the store."""
        where = f"{about} in {self._where}" if about else self._where
        with mapped("store", where, url=self._shown, **context), \
                self.engine.connect() as conn:
            conn = conn.execution_options(runyard_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with mapped("store", self._where, url=self._shown), self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- experiments ----------------------------------------------------------------------
    def ensure_experiment(self, name: str) -> int:
        with self._read() as conn:
            found = conn.execute(
                sa.select(t.experiments.c.id).where(t.experiments.c.name == name)
            ).scalar()
        if found is not None:
            return int(found)
        with self._write() as conn:
            found = conn.execute(
                sa.select(t.experiments.c.id).where(t.experiments.c.name == name)
            ).scalar()
            if found is not None:
                return int(found)
            result = conn.execute(
                t.experiments.insert().values(name=name, created_at=time.time())
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def list_experiments(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.experiments).order_by(t.experiments.c.name))
            return [dict(r._mapping) for r in rows]

    def _experiment_row(self, conn: sa.Connection, name: str) -> Any:
        row = conn.execute(sa.select(t.experiments).where(t.experiments.c.name == name)).first()
        if row is None:
            raise KeyError(name)
        return row

    def update_experiment_tags(self, name: str, tags: Mapping[str, str | None],
                               remove: Iterable[str] = ()) -> dict[str, str | None]:
        with self._write() as conn:
            row = self._experiment_row(conn, name)
            merged: dict[str, str | None] = {**(row.tags or {}), **tags}
            for key in remove:
                merged.pop(key, None)
            conn.execute(t.experiments.update().where(t.experiments.c.name == name)
                         .values(tags=merged))
        return merged

    def set_experiment_archived(self, name: str, archived_at: float | None) -> None:
        with self._write() as conn:
            self._experiment_row(conn, name)
            conn.execute(t.experiments.update().where(t.experiments.c.name == name)
                         .values(archived_at=archived_at))

    def delete_experiment(self, name: str) -> None:
        with self._write() as conn:
            row = self._experiment_row(conn, name)
            runs = conn.execute(sa.select(sa.func.count()).select_from(t.runs)
                                .where(t.runs.c.experiment_id == row.id)).scalar()
            if runs:
                raise ValueError(f"experiment {name!r} has {runs} run(s)")
            conn.execute(t.experiments.delete().where(t.experiments.c.id == row.id))

    # -- runs -----------------------------------------------------------------------------
    def create_run(
        self, run_id: str, experiment: str, *, compute_target: str | None,
        config: Mapping[str, Any] | None, snapshot_id: str | None,
        parent_id: str | None = None, display_name: str | None = None,
        status: str = _status.NOT_STARTED, tags: Mapping[str, str] | None = None,
    ) -> None:
        experiment_id = self.ensure_experiment(experiment)
        now = time.time()
        with self._write(f"run {run_id!r}", run_id=run_id) as conn:
            number = conn.execute(
                sa.select(sa.func.count()).select_from(t.runs)
                .where(t.runs.c.experiment_id == experiment_id)
            ).scalar_one() + 1
            conn.execute(t.runs.insert().values(
                id=run_id, experiment_id=experiment_id, parent_id=parent_id, number=number,
                display_name=display_name, status=status, compute_target=compute_target,
                config=dict(config) if config is not None else None, snapshot_id=snapshot_id,
                created_at=now, start_time=now if status == _status.RUNNING else None,
            ))
            conn.execute(t.status_events.insert().values(run_id=run_id, status=status, time=now))
            if tags:
                conn.execute(t.tags.insert(), [
                    {"run_id": run_id, "key": k, "value": v} for k, v in tags.items()
                ])

    def _run_query(self) -> sa.Select[Any]:
        return sa.select(t.runs, t.experiments.c.name.label("experiment")).join(
            t.experiments, t.runs.c.experiment_id == t.experiments.c.id
        )

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(self._run_query().where(t.runs.c.id == run_id)).first()
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r} in {self._shown}", run_id=run_id)
        return dict(row._mapping)

    def list_runs(
        self, *, experiment: str | None = None, status: str | None = None,
        parent_id: str | None = None, tags: Mapping[str, str | None] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        query = self._run_query()
        if experiment is not None:
            query = query.where(t.experiments.c.name == experiment)
        if status is not None:
            query = query.where(t.runs.c.status == status)
        if parent_id is not None:
            query = query.where(t.runs.c.parent_id == parent_id)
        for key, value in (tags or {}).items():
            match = sa.select(t.tags.c.run_id).where(t.tags.c.key == key)
            if value is not None:
                match = match.where(t.tags.c.value == value)
            query = query.where(t.runs.c.id.in_(match))
        query = query.order_by(t.runs.c.created_at.desc(), t.runs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def set_status(
        self, run_id: str, status: str, *, detail: str | None = None,
        error: str | None = None, only_if: Iterable[str] | None = None,
    ) -> bool:
        now = time.time()
        values: dict[str, Any] = {"status": status}
        if status == _status.RUNNING:
            values["start_time"] = now
        if status in _status.TERMINAL:
            values["end_time"] = now
        if error is not None:
            values["error"] = error
        # an end state is final: no transition leaves one, whatever `only_if` says
        update = t.runs.update().where(t.runs.c.id == run_id).values(**values).where(
            t.runs.c.status.not_in(list(_status.TERMINAL)))
        if only_if is not None:
            update = update.where(t.runs.c.status.in_(list(only_if)))
        with self._write() as conn:
            if conn.execute(update).rowcount != 1:
                return False
            conn.execute(t.status_events.insert().values(
                run_id=run_id, status=status, time=now, detail=detail or error
            ))
        return True

    def status_events(self, run_id: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.status_events.c.status, t.status_events.c.time,
                          t.status_events.c.detail)
                .where(t.status_events.c.run_id == run_id).order_by(t.status_events.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def claim_supervisor(self, run_id: str, pid: int, host: str) -> None:
        with self._write() as conn:
            conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(
                supervisor_pid=pid, supervisor_host=host, heartbeat_at=time.time()
            ))

    def heartbeat(self, run_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                t.runs.update().where(t.runs.c.id == run_id).values(heartbeat_at=time.time())
            )

    def request_cancel(self, run_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                t.runs.update()
                .where(t.runs.c.id == run_id, t.runs.c.cancel_requested_at.is_(None))
                .values(cancel_requested_at=time.time())
            )

    def set_snapshot(self, run_id: str, snapshot_id: str) -> None:
        with self._write() as conn:
            updated = conn.execute(t.runs.update().where(t.runs.c.id == run_id)
                                   .values(snapshot_id=snapshot_id)).rowcount
        if not updated:
            raise KeyError(run_id)

    def set_display_name(self, run_id: str, display_name: str | None) -> None:
        with self._write() as conn:
            conn.execute(t.runs.update().where(t.runs.c.id == run_id)
                         .values(display_name=display_name))

    # -- metrics --------------------------------------------------------------------------
    def _metric_insert(self, rows_per_statement: int) -> _CompiledInsert:
        # Core's executemany with dicts runs at ~130k rows/s on SQLite; a statement
        # compiled once per dialect, inserting 100 rows per execution from flat positional
        # tuples, at ~400k. Compiled from Core, so it holds for any database.
        compiled = self._metric_sql.get(rows_per_statement)
        if compiled is None:
            values: list[dict[str, Any]] = [
                {key: sa.bindparam(f"{key}_{index}") for key in _METRIC_KEYS}
                for index in range(rows_per_statement)
            ]
            statement = t.metrics.insert().values(values)
            built = statement.compile(dialect=self.engine.dialect)
            order = list(built.positiontup or [])
            expected = [f"{key}_{index}" for index in range(rows_per_statement)
                        for key in _METRIC_KEYS]
            compiled = _CompiledInsert(str(built), bool(built.positional) and order == expected)
            self._metric_sql[rows_per_statement] = compiled
        return compiled

    def insert_metrics(self, rows: Sequence[MetricRow]) -> None:
        """Insert metric points, in transactions of at most METRIC_TRANSACTION_ROWS, so
        other runs' writers never wait long for the lock; each transaction also folds its
        points into the metric summaries (store/_summaries.py)."""
        for start in range(0, len(rows), METRIC_TRANSACTION_ROWS):
            chunk = rows[start:start + METRIC_TRANSACTION_ROWS]
            whole = len(chunk) - len(chunk) % METRIC_ROWS_PER_STATEMENT
            with self._write() as conn:
                for size, part in ((METRIC_ROWS_PER_STATEMENT, chunk[:whole]),
                                   (1, chunk[whole:])):
                    if part:
                        insert = self._metric_insert(size)
                        conn.exec_driver_sql(insert.sql, insert.parameters(part, size))
                _summaries.summarize(conn, chunk)  # in the same transaction

    def get_metrics(self, run_id: str, name: str | None = None) -> list[dict[str, Any]]:
        m = t.metrics.c
        query = sa.select(m.name, m.kind, m.step, m.value, m.text, m.time, m.rank).where(
            m.run_id == run_id
        )
        if name is not None:
            query = query.where(m.name == name)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(m.id))]

    def count_metrics(self, run_id: str) -> int:
        with self._read() as conn:
            return int(conn.execute(
                sa.select(sa.func.count()).select_from(t.metrics)
                .where(t.metrics.c.run_id == run_id)
            ).scalar_one())

    # -- tags, properties, files ----------------------------------------------------------
    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> None:
        if not tags:
            return
        with self._write() as conn:
            for key, value in tags.items():
                updated = conn.execute(
                    t.tags.update().where(t.tags.c.run_id == run_id, t.tags.c.key == key)
                    .values(value=value)
                ).rowcount
                if not updated:
                    conn.execute(t.tags.insert().values(run_id=run_id, key=key, value=value))

    def get_tags(self, run_id: str) -> dict[str, str | None]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.tags.c.key, t.tags.c.value)
                                .where(t.tags.c.run_id == run_id).order_by(t.tags.c.key))
            return {r.key: r.value for r in rows}

    def remove_tags(self, run_id: str, keys: Iterable[str]) -> None:
        chosen = list(keys)
        if chosen:
            with self._write() as conn:
                conn.execute(t.tags.delete().where(t.tags.c.run_id == run_id,
                                                   t.tags.c.key.in_(chosen)))

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        if not properties:
            return
        with self._write() as conn:
            existing = {
                r.key: r.value for r in conn.execute(
                    sa.select(t.properties.c.key, t.properties.c.value)
                    .where(t.properties.c.run_id == run_id,
                           t.properties.c.key.in_(list(properties)))
                )
            }
            for key, value in properties.items():
                if key in existing:
                    if existing[key] != value:
                        raise PropertyImmutableError(
                            f"property {key!r} of run {run_id} is already {existing[key]!r}; "
                            f"properties cannot change (use a tag for values that change)",
                            run_id=run_id, key=key,
                        )
                    continue
                conn.execute(t.properties.insert().values(run_id=run_id, key=key, value=value))

    def get_properties(self, run_id: str) -> dict[str, str | None]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.properties.c.key, t.properties.c.value)
                                .where(t.properties.c.run_id == run_id)
                                .order_by(t.properties.c.key))
            return {r.key: r.value for r in rows}

    def add_files(self, run_id: str, files: Iterable[tuple[str, int]]) -> None:
        now = time.time()
        rows = [{"run_id": run_id, "path": p, "size": s, "created_at": now} for p, s in files]
        if not rows:
            return
        with self._write() as conn:
            conn.execute(t.run_files.delete().where(
                t.run_files.c.run_id == run_id,
                t.run_files.c.path.in_([r["path"] for r in rows]),
            ))
            conn.execute(t.run_files.insert(), rows)

    def list_files(self, run_id: str, prefix: str = "") -> list[dict[str, Any]]:
        f = t.run_files.c
        query = sa.select(f.path, f.size, f.created_at).where(f.run_id == run_id)
        with self._read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query.order_by(f.path))]
        # Azure's prefix is a plain string prefix: "outputs/mod" matches "outputs/model/x".
        return [r for r in rows if r["path"].startswith(prefix)]

    def add_warning(self, run_id: str, message: str, source: str = "runyard") -> None:
        with self._write() as conn:
            conn.execute(t.run_warnings.insert().values(
                run_id=run_id, source=source[:64], message=message, time=time.time()))

    def get_warnings(self, run_id: str) -> list[dict[str, Any]]:
        w = t.run_warnings.c
        with self._read() as conn:
            rows = conn.execute(sa.select(w.source, w.message, w.time)
                                .where(w.run_id == run_id).order_by(w.id))
            return [dict(r._mapping) for r in rows]

    # -- environments ---------------------------------------------------------------------
    def register_environment(self, name: str, definition: Mapping[str, Any],
                             spec_hash: str) -> int:
        e = t.environments.c
        with self._write() as conn:
            latest = conn.execute(
                sa.select(e.version, e.spec_hash, e.definition).where(e.name == name)
                .order_by(e.version.desc()).limit(1)
            ).first()
            if latest is not None and latest.spec_hash == spec_hash and \
                    latest.definition == dict(definition):
                return int(latest.version)
            version = 1 if latest is None else int(latest.version) + 1
            conn.execute(t.environments.insert().values(
                name=name, version=version, definition=dict(definition),
                spec_hash=spec_hash, created_at=time.time()))
            return version

    def _versioned(self, table: sa.Table, name: str,
                   version: int | None) -> dict[str, Any] | None:
        """The row of `name` at `version`, or its latest version when None."""
        query = sa.select(table).where(table.c.name == name)
        query = query.where(table.c.version == version) if version is not None else \
            query.order_by(table.c.version.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row is not None else None

    def get_environment(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        return self._versioned(t.environments, name, version)

    def list_environments(self) -> list[dict[str, Any]]:
        e = t.environments.c
        with self._read() as conn:
            rows = conn.execute(sa.select(t.environments).order_by(e.name, e.version))
            return [dict(r._mapping) for r in rows]

    # -- datastores -----------------------------------------------------------------------
    def put_datastore(self, name: str, url: str, options: Mapping[str, Any]) -> None:
        with self._write() as conn:
            updated = conn.execute(
                t.datastores.update().where(t.datastores.c.name == name)
                .values(url=url, options=dict(options))
            ).rowcount
            if not updated:
                conn.execute(t.datastores.insert().values(
                    name=name, url=url, options=dict(options), created_at=time.time()))

    def get_datastore(self, name: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.datastores).where(t.datastores.c.name == name)).first()
        return dict(row._mapping) if row is not None else None

    def list_datastores(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.datastores).order_by(t.datastores.c.name))
            return [dict(r._mapping) for r in rows]

    def delete_datastore(self, name: str) -> bool:
        with self._write() as conn:
            return bool(conn.execute(
                t.datastores.delete().where(t.datastores.c.name == name)).rowcount)

    def set_default_datastore(self, name: str) -> None:
        with self._write() as conn:
            rows = conn.execute(sa.select(t.datastores.c.name, t.datastores.c.options)).all()
            if name not in {r.name for r in rows}:
                raise KeyError(name)
            for row in rows:
                options = {k: v for k, v in (row.options or {}).items() if k != "default"}
                if row.name == name:
                    options["default"] = True
                if options != (row.options or {}):
                    conn.execute(t.datastores.update().where(t.datastores.c.name == row.name)
                                 .values(options=options))

    # -- the model registry ---------------------------------------------------------------
    def register_model(self, name: str, *, files: Mapping[str, Any],
                       run_id: str | None = None, experiment: str | None = None,
                       source_path: str | None = None, description: str | None = None,
                       framework: str | None = None, framework_version: str | None = None,
                       tags: Mapping[str, str] | None = None,
                       properties: Mapping[str, str] | None = None) -> int:
        """Insert the next version of `name`; two registrations at once get two versions
        (SQLite serialises the write transactions; elsewhere a key clash is retried)."""
        m = t.models.c
        for attempt in range(10):
            try:
                with self._write() as conn:
                    latest = conn.execute(
                        sa.select(sa.func.max(m.version)).where(m.name == name)).scalar()
                    version = int(latest or 0) + 1
                    conn.execute(t.models.insert().values(
                        name=name, version=version, run_id=run_id, experiment=experiment,
                        source_path=source_path, description=description,
                        framework=framework, framework_version=framework_version,
                        tags=dict(tags or {}), properties=dict(properties or {}),
                        files=dict(files), created_at=time.time()))
                return version
            except StoreConflictError:
                if attempt == 9:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def get_model(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        return self._versioned(t.models, name, version)

    # -- datasets -------------------------------------------------------------------------
    def register_dataset(self, name: str, definition: Mapping[str, Any], *,
                         description: str | None, tags: Mapping[str, str],
                         create_new_version: bool) -> int:
        """Store `definition` as the next version of `name`; without create_new_version,
        only a new name (an existing one raises FileExistsError) or the same definition."""
        d = t.datasets.c
        for attempt in range(10):
            try:
                with self._write() as conn:
                    latest = conn.execute(
                        sa.select(d.version, d.definition).where(d.name == name)
                        .order_by(d.version.desc()).limit(1)).first()
                    if latest is not None and latest.definition == dict(definition):
                        return int(latest.version)
                    if latest is not None and not create_new_version:
                        raise FileExistsError(name)
                    version = 1 if latest is None else int(latest.version) + 1
                    conn.execute(t.datasets.insert().values(
                        name=name, version=version, definition=dict(definition),
                        description=description, tags=dict(tags), created_at=time.time()))
                return version
            except StoreConflictError:
                if attempt == 9:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def get_dataset(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        return self._versioned(t.datasets, name, version)

    def update_dataset(self, name: str, version: int, *, description: str | None,
                       tags: Mapping[str, str] | None) -> None:
        d = t.datasets.c
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if tags is not None:
            values["tags"] = dict(tags)
        if values:
            with self._write() as conn:
                conn.execute(t.datasets.update().where(d.name == name, d.version == version)
                             .values(**values))

    def delete_dataset(self, name: str) -> None:
        with self._write() as conn:
            conn.execute(t.datasets.delete().where(t.datasets.c.name == name))

    def list_datasets(self) -> list[dict[str, Any]]:
        d = t.datasets.c
        with self._read() as conn:
            rows = conn.execute(sa.select(t.datasets).order_by(d.name, d.version))
            return [dict(r._mapping) for r in rows]

    def delete_model(self, name: str, version: int) -> bool:
        m = t.models.c
        with self._write() as conn:
            return bool(conn.execute(
                t.models.delete().where(m.name == name, m.version == version)).rowcount)

    def list_models(self, name: str | None = None) -> list[dict[str, Any]]:
        m = t.models.c
        query = sa.select(t.models).order_by(m.name, m.version.desc())
        if name is not None:
            query = query.where(m.name == name)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def _model_for_update(self, conn: sa.Connection, name: str, version: int) -> Any:
        m = t.models.c
        row = conn.execute(
            sa.select(m.tags, m.properties).where(m.name == name, m.version == version)
            .with_for_update()).first()
        if row is None:
            raise ModelNotFoundError(f"no version {version} of model {name!r} in {self._shown}",
                                     name=name, version=version)
        return row

    def update_model_tags(self, name: str, version: int,
                          tags: Mapping[str, str | None]) -> dict[str, str]:
        m = t.models.c
        with self._write() as conn:
            merged = dict(self._model_for_update(conn, name, version).tags or {})
            for key, value in tags.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            conn.execute(t.models.update().where(m.name == name, m.version == version)
                         .values(tags=merged))
        return merged

    def set_model_description(self, name: str, version: int, description: str | None) -> None:
        m = t.models.c
        with self._write() as conn:
            self._model_for_update(conn, name, version)
            conn.execute(t.models.update().where(m.name == name, m.version == version)
                         .values(description=description))

    def update_model_properties(self, name: str, version: int,
                                properties: Mapping[str, str]) -> dict[str, str]:
        m = t.models.c
        with self._write() as conn:
            merged = dict(self._model_for_update(conn, name, version).properties or {})
            for key, value in properties.items():
                if key in merged and merged[key] != value:
                    raise PropertyImmutableError(
                        f"property {key!r} of model {name}:{version} is already "
                        f"{merged[key]!r}; properties cannot change (use a tag for values "
                        f"that change)", name=name, version=version, key=key)
                merged[key] = value
            conn.execute(t.models.update().where(m.name == name, m.version == version)
                         .values(properties=merged))
        return merged

    # -- compute targets ------------------------------------------------------------------
    def get_compute_target(self, name: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.compute_targets).where(t.compute_targets.c.name == name)
            ).first()
        return dict(row._mapping) if row is not None else None

    def put_compute_target(self, name: str, type_: str, config: Mapping[str, Any]) -> None:
        with self._write() as conn:
            updated = conn.execute(
                t.compute_targets.update().where(t.compute_targets.c.name == name)
                .values(type=type_, config=dict(config))
            ).rowcount
            if not updated:
                conn.execute(t.compute_targets.insert().values(
                    name=name, type=type_, config=dict(config), created_at=time.time()
                ))

    def delete_compute_target(self, name: str) -> bool:
        with self._write() as conn:
            return bool(conn.execute(
                t.compute_targets.delete().where(t.compute_targets.c.name == name)).rowcount)

    def list_compute_targets(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.compute_targets).order_by(t.compute_targets.c.name))
            return [dict(r._mapping) for r in rows]
