"""Errors of the libraries runyard stands on, turned into runyard's at each boundary, from
one table (httpx's `map_exceptions` is the model).

    with mapped("store", f"run history {without_password(url)}", url=url):
        ...  # SQLAlchemy's OperationalError "database is locked" leaves as StoreLockedError

Invariants:
- Importing this module imports no foreign library: a row names its class as
  "module.QualName" and is matched against the names along the error's MRO, so mapping
  a SQLAlchemy, fsspec or Ray error never imports SQLAlchemy, fsspec or Ray.
- The most specific row wins: the row whose class is nearest the error's own class in its
  MRO, and among those the first in table order whose `codes` or `words` match (a row
  with neither matches every error of its class).
- runyard's own errors and what no row of the boundary names pass through unchanged; a
  mapped error is raised `from` the original, its message naming what failed (`subject`:
  the database URL without its password, the path, the address), the reason, and the
  original's first line.
"""

from __future__ import annotations

import errno as _errno
import re
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Literal, TypeVar

from runyard import errors as e

#: where a mapping stands: opening the run history (the OS errors of making its folder
#: count there), using it, the artifact store (and the local files it copies), a compute
Boundary = Literal["store-open", "store", "artifacts", "compute"]

_STORE: tuple[Boundary, ...] = ("store-open", "store")
T = TypeVar("T")


class Foreign:
    """One row: errors of class `foreign` at boundaries `at` become `to` (a plain class,
    not a dataclass: the table is built on the supervisor's start path)."""

    __slots__ = ("at", "codes", "foreign", "reason", "to", "words")

    def __init__(self, foreign: str, at: tuple[Boundary, ...], to: type[e.RunyardError] | None,
                 reason: str, *, codes: tuple[str, ...] = (), words: tuple[str, ...] = ()
                 ) -> None:
        self.foreign = foreign  # "module.QualName"
        self.at = at
        self.to = to  # None: passes through unchanged
        self.reason = reason
        #: prefixes of the error's codes: errno names (ENOSPC), SQLite result codes
        #: (SQLITE_BUSY), SQLSTATEs (08006)
        self.codes = codes
        self.words = words  # lower-case text in the error's message

    def __repr__(self) -> str:
        to = self.to.__name__ if self.to else None
        return f"Foreign({self.foreign!r}, {self.at!r}, {to}, codes={self.codes!r}, " \
               f"words={self.words!r})"

    def matches(self, error: BaseException) -> bool:
        if not self.codes and not self.words:
            return True
        if any(code.startswith(self.codes) for code in error_codes(error)):
            return True
        text = str(error).lower()
        return any(word in text for word in self.words)


_LOCKED = "is locked: another connection held its write lock past the busy timeout " \
          "(the URL's ?timeout=, in seconds); retry when it is done, or stop it"
_UNAVAILABLE = "cannot be opened or reached: check that its folder exists and can be " \
               "written, or that its server is up and the URL right"

FOREIGN_ERRORS: tuple[Foreign, ...] = (
    # -- the run history: SQLAlchemy over SQLite or PostgreSQL ----------------------------
    Foreign("sqlalchemy.exc.OperationalError", _STORE, e.StoreLockedError, _LOCKED,
            codes=("SQLITE_BUSY", "SQLITE_LOCKED", "55P03", "40P01"),
            words=("database is locked", "database table is locked", "lock timeout")),
    Foreign("sqlalchemy.exc.OperationalError", _STORE, e.StoreFullError,
            "has no room left: free some space on its disk and retry",
            codes=("SQLITE_FULL", "53100"),
            words=("database or disk is full", "no space left on device")),
    Foreign("sqlalchemy.exc.OperationalError", _STORE, e.StoreUnavailableError, _UNAVAILABLE,
            codes=("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR",
                   "08", "57P", "28P01"),
            words=("unable to open database file", "readonly database", "disk i/o error",
                   "could not connect", "connection refused", "server closed the connection",
                   "gone away", "lost connection", "authentication failed")),
    Foreign("sqlalchemy.exc.OperationalError", _STORE, e.StoreError, "failed"),
    Foreign("sqlalchemy.exc.IntegrityError", _STORE, e.RunIdInUseError,
            "the run id is already used by another run; give another (or none, for a "
            "generated one)",
            words=("unique constraint failed: runs.id", 'unique constraint "runs_pkey"')),
    Foreign("sqlalchemy.exc.IntegrityError", _STORE, e.StoreConflictError,
            "refers to a row that is not there (a run or experiment deleted meanwhile?)",
            codes=("SQLITE_CONSTRAINT_FOREIGNKEY", "23503"), words=("foreign key",)),
    Foreign("sqlalchemy.exc.IntegrityError", _STORE, e.StoreConflictError,
            "clashes with a row already there"),
    Foreign("sqlalchemy.exc.DatabaseError", _STORE, e.StoreUnavailableError,
            "is not a SQLite database, or is damaged: point the store URL at another file",
            codes=("SQLITE_NOTADB", "SQLITE_CORRUPT"),
            words=("file is not a database", "malformed")),
    Foreign("sqlalchemy.exc.InterfaceError", _STORE, e.StoreUnavailableError, _UNAVAILABLE),
    Foreign("sqlalchemy.exc.DisconnectionError", _STORE, e.StoreUnavailableError,
            _UNAVAILABLE),
    Foreign("sqlalchemy.exc.TimeoutError", _STORE, e.StoreUnavailableError,
            "gave no free connection in time: too many at once in this process"),
    Foreign("sqlalchemy.exc.DBAPIError", _STORE, e.StoreError, "failed"),
    # the URL's database driver (psycopg, pg8000, ...), imported when the engine is made
    Foreign("builtins.ModuleNotFoundError", ("store-open",), e.MissingExtraError,
            "its database driver is not installed here: pip install it"),
    # making the database's folder
    Foreign("builtins.OSError", ("store-open",), e.StoreFullError,
            "has no room left: free some space on its disk and retry",
            codes=("ENOSPC", "EDQUOT")),
    Foreign("builtins.OSError", ("store-open",), e.StoreUnavailableError,
            "cannot be created: its folder cannot be made or written here"),
    # -- the artifact store: the OS, fsspec --------------------------------------------------
    Foreign("builtins.FileNotFoundError", ("artifacts",), e.ArtifactNotFoundError,
            "no such file or folder"),
    Foreign("builtins.PermissionError", ("artifacts",), e.ArtifactPermissionError,
            "not allowed to read or write it here"),
    Foreign("builtins.IsADirectoryError", ("artifacts",), e.ArtifactPathConflictError,
            "a folder stands where a file must be"),
    Foreign("builtins.NotADirectoryError", ("artifacts",), e.ArtifactPathConflictError,
            "a file stands where the path needs a folder"),
    Foreign("builtins.FileExistsError", ("artifacts",), e.ArtifactPathConflictError,
            "a file stands where the path needs a folder"),
    Foreign("builtins.TimeoutError", ("artifacts",), e.ArtifactStoreUnavailableError,
            "its filesystem did not answer in time"),
    Foreign("builtins.ConnectionError", ("artifacts",), e.ArtifactStoreUnavailableError,
            "its filesystem cannot be reached"),
    Foreign("fsspec.exceptions.FSTimeoutError", ("artifacts",),
            e.ArtifactStoreUnavailableError, "its filesystem did not answer in time"),
    Foreign("builtins.OSError", ("artifacts",), e.ArtifactStoreFullError,
            "no space left on its disk: free some and retry", codes=("ENOSPC", "EDQUOT")),
    Foreign("builtins.OSError", ("artifacts",), e.ArtifactPermissionError,
            "its filesystem is read-only here", codes=("EROFS",)),
    Foreign("builtins.OSError", ("artifacts",), e.InvalidArtifactPathError,
            "a name in the path is longer than its filesystem allows",
            codes=("ENAMETOOLONG",)),
    Foreign("builtins.OSError", ("artifacts",), e.ArtifactStoreError, "failed"),
    # -- a compute: Ray, its Jobs REST API ------------------------------------------------
    # a remote task that raised: runyard's own errors arrive as themselves (Ray makes the
    # error an instance of its cause), anything else is a bug to be seen as it is
    Foreign("ray.exceptions.RayTaskError", ("compute",), None, "a remote task raised"),
    Foreign("ray.exceptions.GetTimeoutError", ("compute",), e.ComputeTimeoutError,
            "did not answer in time"),
    Foreign("ray.exceptions.ObjectFetchTimedOutError", ("compute",), e.ComputeTimeoutError,
            "did not answer in time"),
    Foreign("ray.exceptions.RayActorError", ("compute",), e.ComputeNodeLostError,
            "an actor of the run died (its node agent, or the node under it)"),
    Foreign("ray.exceptions.NodeDiedError", ("compute",), e.ComputeNodeLostError,
            "a node of the cluster died"),
    Foreign("ray.exceptions.LocalRayletDiedError", ("compute",), e.ComputeNodeLostError,
            "the Ray node on this machine died"),
    Foreign("ray.exceptions.WorkerCrashedError", ("compute",), e.ComputeNodeLostError,
            "a worker process died"),
    Foreign("ray.exceptions.OutOfMemoryError", ("compute",), e.ComputeNodeLostError,
            "a worker was killed: its node ran out of memory"),
    Foreign("ray.exceptions.ObjectLostError", ("compute",), e.ComputeNodeLostError,
            "a result was lost with the node or process that held it"),
    Foreign("ray.exceptions.RuntimeEnvSetupError", ("compute",), e.EnvironmentBuildError,
            "Ray could not set up the run's environment on a node"),
    Foreign("ray.exceptions.RpcError", ("compute",), e.ComputeUnreachableError,
            "cannot be reached: is its head node up and the address right?"),
    Foreign("ray.exceptions.RaySystemError", ("compute",), e.ComputeTargetException,
            "Ray failed inside"),
    Foreign("ray.exceptions.RayError", ("compute",), e.ComputeTargetException, "failed"),
    Foreign("urllib.error.HTTPError", ("compute",), e.ComputeTargetException,
            "answered with an error"),
    Foreign("urllib.error.URLError", ("compute",), e.ComputeUnreachableError,
            "cannot be reached: is its head node up and the address right?"),
    Foreign("builtins.TimeoutError", ("compute",), e.ComputeTimeoutError,
            "did not answer in time"),
    Foreign("builtins.ConnectionError", ("compute",), e.ComputeUnreachableError,
            "cannot be reached: is its head node up and the address right?"),
)


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def error_codes(error: BaseException) -> list[str]:
    """The machine-readable codes an error carries: its errno's name, and for a database
    error (or SQLAlchemy's wrapper of one, `.orig`) the SQLite result code or SQLSTATE."""
    codes = []
    for each in (error, getattr(error, "orig", None)):
        number = getattr(each, "errno", None)
        if isinstance(number, int) and number in _errno.errorcode:
            codes.append(_errno.errorcode[number])
        for attribute in ("sqlite_errorname", "pgcode", "sqlstate"):
            value = getattr(each, attribute, None)
            if isinstance(value, str):
                codes.append(value)
    return codes


def lookup(error: BaseException, at: Boundary) -> Foreign | None:
    """The most specific row of FOREIGN_ERRORS for `error` at boundary `at`, or None."""
    names = [_class_name(cls) for cls in type(error).__mro__]
    best: Foreign | None = None
    best_rank = len(names)
    for row in FOREIGN_ERRORS:
        if at not in row.at or row.foreign not in names:
            continue
        rank = names.index(row.foreign)
        if rank < best_rank and row.matches(error):
            best, best_rank = row, rank
    return best


def without_password(url: str) -> str:
    """`url` with the password of its user part written as ***."""
    return re.sub(r"^([\w+.-]+://[^/@:]*:)[^/@]*@", r"\1***@", url)


def _first_line(error: BaseException) -> str:
    shown = getattr(error, "orig", None) or error  # SQLAlchemy's: the driver's own message
    text = str(shown).strip()
    return text.splitlines()[0] if text else type(shown).__name__


class mapped:  # lower case: used as `with mapped(...)`, like contextlib's helpers
    """Within it, a foreign error leaves as the runyard error of its FOREIGN_ERRORS row
    for boundary `at`, raised from it, with message "{subject}: {reason} ({original})"
    and `context` (plus the OS error's `errno` and `path`) as its attributes."""

    __slots__ = ("at", "context", "subject")

    def __init__(self, at: Boundary, subject: str, **context: Any) -> None:
        self.at = at
        self.subject = subject
        self.context = context

    def __enter__(self) -> None:
        return None

    def over(self, items: Iterable[T]) -> Iterator[T]:
        """`items` (a lazy listing), each step taken within this mapping."""
        with self:
            yield from items

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if error is None or not isinstance(error, Exception) or \
                isinstance(error, e.RunyardError):
            return
        row = lookup(error, self.at)
        if row is None or row.to is None:
            return
        context: dict[str, Any] = {}
        if isinstance(error, OSError):
            if error.errno is not None:
                context["errno"] = error.errno
            if error.filename is not None:
                context["path"] = str(error.filename)
        if isinstance(error, ImportError) and error.name:
            context["package"] = error.name
        context.update(self.context)
        raise row.to(f"{self.subject}: {row.reason} ({_first_line(error)})",
                     **context) from error
