"""runyard's errors: the hierarchy drawn in errors.py is the code's, and foreign errors
(SQLAlchemy, the OS and fsspec, Ray) reach callers as the most specific runyard error,
raised from the original, at every boundary: the run history, the artifact store, the CLI."""

from __future__ import annotations

import builtins
import contextlib
import email.message
import errno
import inspect
import io
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import runyard.errors
from runyard import Workspace
from runyard._foreign import FOREIGN_ERRORS, Foreign, lookup, mapped, without_password
from runyard.errors import (
    ArtifactNotFoundError,
    ArtifactPathConflictError,
    ArtifactStoreFullError,
    MissingExtraError,
    RunIdInUseError,
    RunyardError,
    StoreConflictError,
    StoreLockedError,
    StoreUnavailableError,
    ValidationError,
)

# -- the drawing in errors.py's docstring is the hierarchy ---------------------------------
_TREE_LINE = re.compile(r"^(?P<indent>(?:│   |    )*)(?:├── |└── )?(?P<name>[A-Z]\w+)"
                        r"(?: \((?P<extra>[\w, ]+)\))?(?:\s{2,}.*)?$")


def _drawn_tree() -> list[tuple[str, str | None, tuple[str, ...]]]:
    """(class, drawn parent, drawn stdlib bases) for every line of the drawing."""
    doc = runyard.errors.__doc__ or ""
    block = doc.split("::\n", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    rows: list[tuple[str, str | None, tuple[str, ...]]] = []
    parents: list[str] = []
    for raw in block.splitlines():
        line = raw[4:]  # the literal block's own indent
        match = _TREE_LINE.match(line)
        assert match, f"cannot read the line {raw!r} of errors.py's drawing"
        depth = len(match["indent"]) // 4 + (0 if line.startswith(match["name"]) else 1)
        del parents[depth:]
        extra = tuple(b.strip() for b in match["extra"].split(",")) if match["extra"] else ()
        rows.append((match["name"], parents[-1] if parents else None, extra))
        parents.append(match["name"])
    return rows


def _public_errors() -> dict[str, type[BaseException]]:
    return {name: cls for name, cls in vars(runyard.errors).items()
            if inspect.isclass(cls) and issubclass(cls, BaseException)
            and not name.startswith("_") and cls.__module__ == "runyard.errors"}


def test_every_error_is_drawn_once_under_its_real_base() -> None:
    drawn = _drawn_tree()
    names = [name for name, _, _ in drawn]
    assert sorted(n for n in names if names.count(n) > 1) == [], "drawn more than once"
    assert sorted(set(_public_errors()) - set(names)) == [], "classes missing in the drawing"
    assert sorted(set(names) - set(_public_errors())) == [], "drawn but not in errors.py"
    for name, parent, extra in drawn:
        cls = _public_errors()[name]
        runyard_bases = [b.__name__ for b in cls.__bases__ if issubclass(b, RunyardError)]
        other_bases = tuple(b.__name__ for b in cls.__bases__
                            if not issubclass(b, RunyardError))
        if parent is None:
            assert cls is RunyardError
            continue
        assert runyard_bases == [parent], f"{name} is drawn under {parent}, " \
                                          f"its runyard base is {runyard_bases}"
        assert extra == other_bases, f"{name} is drawn with {extra}, its other bases " \
                                     f"are {other_bases}"


def test_the_drawing_reader_sees_a_wrong_drawing() -> None:
    # the check above is only as good as its reader: a class drawn under the wrong base
    # must come out with that base
    doc = runyard.errors.__doc__ or ""
    wrong = doc.replace("    │   ├── InvalidNameError", "    ├── InvalidNameError", 1)
    original = runyard.errors.__doc__
    try:
        runyard.errors.__doc__ = wrong
        assert ("InvalidNameError", "RunyardError", ()) in _drawn_tree()
    finally:
        runyard.errors.__doc__ = original
    assert ("InvalidNameError", "ValidationError", ()) in _drawn_tree()
    assert ("StoreLockedError", "StoreError", ("TimeoutError",)) in _drawn_tree()


# -- the table, as data: every row maps a real error of its foreign class ------------------
def _sample(row: Foreign) -> BaseException:
    """A real instance of the row's foreign class, carrying the row's first code or word."""
    import errno
    import sqlite3
    import urllib.error

    module_name, _, name = row.foreign.rpartition(".")
    word = row.words[0] if row.words else "it broke"
    if module_name == "sqlalchemy.exc":
        import sqlalchemy.exc

        cls = getattr(sqlalchemy.exc, name)
        if issubclass(cls, sqlalchemy.exc.DBAPIError):
            return cls("INSERT INTO runs (id) VALUES (?)", ("r1",), sqlite3.Error(word))
        return cls(word)
    if module_name == "builtins":
        cls = getattr(builtins, name)
        number = {"FileNotFoundError": errno.ENOENT, "PermissionError": errno.EACCES,
                  "IsADirectoryError": errno.EISDIR, "NotADirectoryError": errno.ENOTDIR,
                  "FileExistsError": errno.EEXIST, "TimeoutError": errno.ETIMEDOUT,
                  "ConnectionError": errno.ECONNREFUSED}.get(name, errno.EIO)
        if row.codes:
            number = getattr(errno, row.codes[0])
        if not issubclass(cls, OSError):
            return cls(word)  # type: ignore[no-any-return]
        return cls(number, os.strerror(number), "/somewhere/file")
    if row.foreign == "urllib.error.HTTPError":
        return urllib.error.HTTPError("http://127.0.0.1:8265/api/jobs/", 500, "boom",
                                      email.message.Message(), None)
    if row.foreign == "urllib.error.URLError":
        return urllib.error.URLError(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    if module_name == "fsspec.exceptions":
        import fsspec.exceptions

        return getattr(fsspec.exceptions, name)()  # type: ignore[no-any-return]
    if module_name == "ray.exceptions":
        import ray.exceptions as rx

        return {
            "RayTaskError": lambda: rx.RayTaskError("f", "Traceback...", ValueError("x")),
            "GetTimeoutError": lambda: rx.GetTimeoutError("Get timed out"),
            "ObjectFetchTimedOutError": lambda: rx.ObjectFetchTimedOutError("ab", None, ""),
            "RayActorError": lambda: rx.ActorDiedError(),
            "NodeDiedError": lambda: rx.NodeDiedError("node 10.0.0.2 died"),
            "LocalRayletDiedError": lambda: rx.LocalRayletDiedError(),
            "WorkerCrashedError": lambda: rx.WorkerCrashedError(),
            "OutOfMemoryError": lambda: rx.OutOfMemoryError("killed"),
            "ObjectLostError": lambda: rx.ObjectLostError("ab", None, ""),
            "RuntimeEnvSetupError": lambda: rx.RuntimeEnvSetupError("pip failed"),
            "RpcError": lambda: rx.RpcError("failed to connect to GCS"),
            "RaySystemError": lambda: rx.RaySystemError("system error"),
            "RayError": lambda: rx.RayError("ray broke"),
        }[name]()
    raise AssertionError(f"no sample for {row.foreign}: add one")


@pytest.mark.parametrize("row", FOREIGN_ERRORS, ids=lambda r: f"{r.foreign}->"
                         f"{r.to.__name__ if r.to else 'itself'}@{r.at[0]}")
def test_each_row_maps_a_real_error_of_its_class(row: Foreign) -> None:
    error = _sample(row)
    assert type(error).__module__ + "." + type(error).__qualname__ == row.foreign or \
        row.foreign in {f"{c.__module__}.{c.__qualname__}" for c in type(error).__mro__}
    for at in row.at:
        assert lookup(error, at) is row, f"row {row} is shadowed at {at!r}"
        if row.to is None:
            with pytest.raises(type(error)) as passed, mapped(at, "the thing"):
                raise error
            assert passed.value is error
            continue
        with pytest.raises(row.to) as raised, mapped(at, "the thing at /x", where="/x"):
            raise error
        assert type(raised.value) is row.to
        assert raised.value.__cause__ is error
        assert str(raised.value).startswith(f"the thing at /x: {row.reason} (")
        assert raised.value.where == "/x"  # type: ignore[attr-defined]


def test_the_table_imports_nothing_foreign() -> None:
    code = ("import sys, runyard._foreign as f\n"
            "for m in ('sqlalchemy', 'fsspec', 'ray'):\n"
            "    assert m not in sys.modules, m\n"
            "try:\n"
            "    with f.mapped('store', 'x'):\n"
            "        raise OSError(5, 'io')\n"
            "except OSError as e:\n"
            "    assert type(e) is OSError\n"
            "assert not {'sqlalchemy', 'fsspec', 'ray'} & set(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_errors_of_no_row_and_runyard_errors_pass_through() -> None:
    with pytest.raises(KeyError), mapped("artifacts", "x"):
        raise KeyError("k")
    own = ArtifactNotFoundError("no artifact 'a' in file:///x", key="a")
    with pytest.raises(ArtifactNotFoundError) as raised, mapped("artifacts", "x"):
        raise own
    assert raised.value is own
    # FileExistsError is the store's own answer to a dataset name in use: not a store error
    with pytest.raises(FileExistsError) as exists, mapped("store", "x"):
        raise FileExistsError("name")
    assert type(exists.value) is FileExistsError


def test_the_os_error_number_and_path_travel_on_the_mapped_error() -> None:
    import errno
    import pickle

    with pytest.raises(ArtifactStoreFullError) as raised, mapped("artifacts", "artifacts"):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/a.bin")
    copy = pickle.loads(pickle.dumps(raised.value))
    assert (copy.errno, copy.path) == (errno.ENOSPC, "/data/a.bin")
    assert isinstance(copy, OSError)


def test_a_password_never_reaches_the_message() -> None:
    assert without_password("postgresql://me:s3cr3t@db:5432/runs") == \
        "postgresql://me:***@db:5432/runs"
    assert without_password("sqlite:////tmp/a:b@c/runs.db") == "sqlite:////tmp/a:b@c/runs.db"
    assert without_password("postgresql://db/runs") == "postgresql://db/runs"


# -- the run history: a real SQLite file ---------------------------------------------------
@contextlib.contextmanager
def _write_lock_held(database: Path) -> Iterator[None]:
    """Another connection, holding SQLite's write lock in an open write transaction."""
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_database_locked_by_another_writer_is_a_store_locked_error(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from runyard.store.sql import SqlStore

    database = tmp_path / "runs.db"
    store = SqlStore(f"sqlite:///{database}?timeout=0.3")
    with _write_lock_held(database), pytest.raises(StoreLockedError) as raised:
        store.ensure_experiment("waits-for-the-lock")
    store.close()
    message = str(raised.value)
    assert message.startswith(f"run history sqlite:///{database}?timeout=0.3: is locked"), \
        message
    assert "database is locked" in message  # SQLite's own words, at the end
    assert isinstance(raised.value, TimeoutError)
    assert isinstance(raised.value.__cause__, sa.exc.OperationalError)
    assert raised.value.url == f"sqlite:///{database}?timeout=0.3"  # type: ignore[attr-defined]


def test_the_busy_timeout_is_the_urls_and_must_be_seconds(tmp_path: Path) -> None:
    from runyard.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'runs.db'}?timeout=2.5")
    with store._read() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
    store.close()
    with pytest.raises(ValidationError, match="timeout must be a number of seconds, not 'soon'"):
        SqlStore(f"sqlite:///{tmp_path / 'other.db'}?timeout=soon")
    assert not (tmp_path / "other.db").exists()


def test_a_database_in_a_folder_that_cannot_be_made_is_store_unavailable(
        tmp_path: Path) -> None:
    from runyard.store.sql import SqlStore

    (tmp_path / "a-file").write_text("not a folder")
    database = tmp_path / "a-file" / "sub" / "runs.db"
    with pytest.raises(StoreUnavailableError) as raised:
        SqlStore(f"sqlite:///{database}")
    message = str(raised.value)
    assert message.startswith(f"run history sqlite:///{database}: cannot be created"), message
    assert isinstance(raised.value.__cause__, NotADirectoryError)
    assert raised.value.path == str(tmp_path / "a-file" / "sub")  # type: ignore[attr-defined]


def test_a_database_path_that_is_a_folder_is_store_unavailable(tmp_path: Path) -> None:
    from runyard.store.sql import SqlStore

    folder = tmp_path / "runs.db"
    folder.mkdir()
    with pytest.raises(StoreUnavailableError, match=re.escape(
            f"run history sqlite:///{folder}: cannot be opened or reached")) as raised:
        SqlStore(f"sqlite:///{folder}")
    assert "unable to open database file" in str(raised.value)


def test_a_file_that_is_not_a_database_is_store_unavailable(tmp_path: Path) -> None:
    from runyard.store.sql import SqlStore

    notes = tmp_path / "notes.db"
    notes.write_bytes(b"these are my notes, not a database, " * 100)
    with pytest.raises(StoreUnavailableError, match="is not a SQLite database, or is damaged"):
        SqlStore(f"sqlite:///{notes}")
    assert notes.read_bytes().startswith(b"these are my notes")


def test_a_database_url_whose_driver_is_missing_names_it_without_the_password() -> None:
    import importlib.util

    from runyard.store.sql import SqlStore

    if importlib.util.find_spec("pg8000") is not None:
        pytest.skip("pg8000 is installed here")
    with pytest.raises(MissingExtraError) as raised:
        SqlStore("postgresql+pg8000://me:s3cr3t@127.0.0.1:9/runs")
    assert str(raised.value) == (
        "run history postgresql+pg8000://me:***@127.0.0.1:9/runs: its database driver is not "
        "installed here: pip install it (No module named 'pg8000')")
    assert raised.value.package == "pg8000"  # type: ignore[attr-defined]
    assert raised.value.url == "postgresql+pg8000://me:***@127.0.0.1:9/runs"  # type: ignore[attr-defined]


def test_a_duplicate_run_id_is_run_id_in_use(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from runyard.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'runs.db'}")
    store.create_run("r1", "e", compute_target=None, config=None, snapshot_id=None)
    with pytest.raises(RunIdInUseError) as raised:
        store.create_run("r1", "e", compute_target=None, config=None, snapshot_id=None)
    assert str(raised.value).startswith(
        f"run 'r1' in run history sqlite:///{tmp_path / 'runs.db'}: the run id is already "
        f"used by another run")
    assert raised.value.run_id == "r1"  # type: ignore[attr-defined]
    assert isinstance(raised.value.__cause__, sa.exc.IntegrityError)
    assert [r["id"] for r in store.list_runs()] == ["r1"]  # nothing half-written
    assert len(store.status_events("r1")) == 1
    store.close()


def test_a_row_referring_to_no_run_is_a_store_conflict(tmp_path: Path) -> None:
    from runyard.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'runs.db'}")
    with pytest.raises(StoreConflictError, match="refers to a row that is not there"):
        store.set_tags("no-such-run", {"a": "b"})
    store.close()


# -- the artifact store: a real folder -----------------------------------------------------
def test_a_key_through_a_file_is_an_artifact_path_conflict(tmp_path: Path) -> None:
    from runyard.artifacts import open_artifact_store

    store = open_artifact_store(f"file://{tmp_path / 'artifacts'}")
    store.put_stream(io.BytesIO(b"a file"), "outputs/model")
    with pytest.raises(ArtifactPathConflictError) as raised:
        store.put_stream(io.BytesIO(b"weights"), "outputs/model/weights.bin")
    message = str(raised.value)
    assert message.startswith(f"artifact 'outputs/model/weights.bin' in file://"
                              f"{tmp_path / 'artifacts'}: "), message
    assert isinstance(raised.value.__cause__, NotADirectoryError | FileExistsError)
    assert isinstance(raised.value, OSError)
    assert raised.value.key == "outputs/model/weights.bin"  # type: ignore[attr-defined]
    assert list(store.list()) == ["outputs/model"]  # nothing half-written
    assert sorted(p.name for p in (tmp_path / "artifacts" / "outputs").iterdir()) == ["model"]


def test_opening_a_folder_of_keys_is_an_artifact_path_conflict(tmp_path: Path) -> None:
    from runyard.artifacts import open_artifact_store

    store = open_artifact_store(f"file://{tmp_path / 'artifacts'}")
    store.put_stream(io.BytesIO(b"x"), "outputs/a.txt")
    with pytest.raises(ArtifactPathConflictError,
                       match=r"artifact 'outputs' in file://.*: a folder stands where a file "
                             "must be") as raised:
        store.open("outputs")
    assert isinstance(raised.value.__cause__, IsADirectoryError)
    assert raised.value.errno == errno.EISDIR
    # the store's own errors are left as they are
    with pytest.raises(ArtifactNotFoundError, match=re.escape("no artifact 'outputs/b.txt'")):
        store.open("outputs/b.txt")


def test_uploading_a_folder_as_a_file_names_the_folder(tmp_path: Path) -> None:
    from runyard.artifacts import open_artifact_store

    store = open_artifact_store(f"file://{tmp_path / 'artifacts'}")
    (tmp_path / "model").mkdir()
    with pytest.raises(ArtifactPathConflictError) as raised:
        store.put_file(tmp_path / "model", "outputs/model")
    assert f"from {tmp_path / 'model'}" in str(raised.value)
    assert raised.value.path == str(tmp_path / "model")  # type: ignore[attr-defined]
    assert list(store.list()) == []


# -- the CLI: one line, no traceback -------------------------------------------------------
def test_the_cli_on_a_locked_database_prints_one_line_and_no_traceback(
        workspace: Workspace) -> None:
    workspace.store.create_run("locked-run", "e", compute_target=None, config=None,
                               snapshot_id=None, status="Running")
    workspace.store.close()
    url = f"{workspace.store_url}?timeout=0.3"
    database = Path(url.removeprefix("sqlite:///").partition("?")[0])
    env = {**os.environ, "RUNYARD_STORE_URL": url}
    with _write_lock_held(database):
        done = subprocess.run(
            [sys.executable, "-m", "runyard.cli", "--workspace", str(workspace.path),
             "cancel", "locked-run"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: run history {url}: is locked: another connection "
                               f"held its write lock"), lines[0]
