"""Every exception runyard raises.

Hierarchy (each class under its runyard base, the stdlib bases it adds in brackets; a test
compares this drawing with the classes)::

    RunyardError
    ├── ValidationError (ValueError)               bad input: names, paths, values
    │   ├── InvalidNameError                       experiment/run/tag names
    │   ├── InvalidArtifactPathError               absolute, '..', NUL, empty
    │   ├── RunIdInUseError                        a run id another run already has
    │   ├── InvalidMetricError                     metric value of the wrong type
    │   ├── UnknownBackendError                    store/artifact URL scheme nobody serves
    │   └── PropertyImmutableError                 properties are write-once
    ├── WorkspaceNotFoundError (FileNotFoundError)
    ├── WorkspaceExistsError (FileExistsError)
    ├── SourceNotFoundError (FileNotFoundError)    source directory or script missing
    ├── FileExistsNoOverwriteError (FileExistsError)
    ├── ComputeTargetException                     v1's name: a compute target failed
    │   ├── UnknownComputeTargetError (KeyError)
    │   ├── ComputeUnreachableError (ConnectionError)  its cluster does not answer
    │   ├── ComputeTimeoutError (TimeoutError)     it did not answer in time
    │   └── ComputeNodeLostError (RuntimeError)    a node, worker or actor of it died
    ├── RunNotFoundError (KeyError)
    ├── ExperimentNotFoundError (KeyError)
    ├── RunFailedError (RuntimeError)              wait_for_completion on a failed run
    ├── EnvironmentBuildError (RuntimeError)       the installer failed; its message inside
    ├── ModelNotFoundError (KeyError)              a model name or version not registered
    ├── UnknownDatastoreError (KeyError)           a datastore name not registered
    ├── MissingExtraError (ImportError)            a URL's filesystem needs a package
    ├── NotSupportedError (NotImplementedError)    a v1 name runyard refuses: why, what instead
    ├── StoreError                                 the run history's database failed
    │   ├── StoreUnavailableError (OSError)        cannot open the file / reach the server
    │   ├── StoreLockedError (TimeoutError)        another writer held the lock too long
    │   ├── StoreFullError (OSError)               no room left for the database
    │   └── StoreConflictError (ValueError)        a row clashes with one already there
    └── ArtifactStoreError (OSError)               reading or writing run files failed
        ├── ArtifactNotFoundError (FileNotFoundError)
        ├── ArtifactPermissionError (PermissionError)
        ├── ArtifactPathConflictError              a file where a folder must be, or the reverse
        ├── ArtifactStoreFullError                 no space left (errno ENOSPC, EDQUOT)
        ├── ArtifactStoreUnavailableError (ConnectionError)  a remote store does not answer
        └── ChecksumMismatchError                  a downloaded file is not the bytes registered

Errors carry their context as attributes and pickle with it, because they cross
process boundaries (supervisor → client, later Ray workers).

Errors of the libraries runyard stands on (SQLAlchemy, fsspec and the OS, Ray) are turned
into these at each boundary by one table, `runyard._foreign.FOREIGN_ERRORS`, raised
`from` the original.
"""

from __future__ import annotations

import traceback
from typing import Any


class RunyardError(Exception):
    """Base of every runyard error."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        for key, value in context.items():
            setattr(self, key, value)
        self._context = context

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._context))

    def __str__(self) -> str:
        return self.message

    # v1's AzureMLException API (runyard.azureml.exceptions.AzureMLException is this class)
    @property
    def inner_exception(self) -> BaseException | None:
        """The error this one was raised from (`raise ... from error`), if any."""
        return self.__cause__

    def print_stacktrace(self) -> None:
        """Print this error's traceback to stderr."""
        traceback.print_exception(self)


def _rebuild(cls: type[RunyardError], message: str, context: dict[str, Any]) -> RunyardError:
    error = cls.__new__(cls)
    RunyardError.__init__(error, message, **context)
    return error


class ValidationError(RunyardError, ValueError):
    """Input that cannot be accepted."""


class InvalidNameError(ValidationError):
    """A name (experiment, tag, metric) breaks its rules."""


class InvalidArtifactPathError(ValidationError):
    """An artifact path that is absolute, climbs with '..', holds NUL, or is empty."""


class RunIdInUseError(ValidationError):
    """A run id (a child run's `run_id=`) that another run already has."""


class InvalidMetricError(ValidationError):
    """A metric value that is not a number, string or list of them."""


class WorkspaceNotFoundError(RunyardError, FileNotFoundError):
    """No `.runyard/config.json` in the folder or any parent."""


class WorkspaceExistsError(RunyardError, FileExistsError):
    """`Workspace.create` where one exists and `exist_ok` is False."""


class SourceNotFoundError(RunyardError, FileNotFoundError):
    """A source directory or script that is not there."""


class FileExistsNoOverwriteError(RunyardError, FileExistsError):
    """A download onto an existing file without overwrite."""


class ComputeTargetException(RunyardError):
    """A compute target that cannot be found, created, reached or used (v1's name)."""


class UnknownComputeTargetError(ComputeTargetException, KeyError):
    """A compute target name the workspace does not know."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class ComputeUnreachableError(ComputeTargetException, ConnectionError):
    """A compute target's cluster (a Ray address, its dashboard) that does not answer."""


class ComputeTimeoutError(ComputeTargetException, TimeoutError):
    """A compute target that did not answer in time (Ray's GetTimeoutError)."""


class ComputeNodeLostError(ComputeTargetException, RuntimeError):
    """A node, worker or actor of a compute target that died under a run (Ray's
    ActorDiedError, NodeDiedError, WorkerCrashedError, RaySystemError)."""


class UnknownBackendError(ValidationError):
    """A store or artifact URL whose scheme no backend serves."""


class RunNotFoundError(RunyardError, KeyError):
    """A run id the store does not know."""

    def __str__(self) -> str:
        return self.message


class ExperimentNotFoundError(RunyardError, KeyError):
    """An experiment name the store does not know."""

    def __str__(self) -> str:
        return self.message


class PropertyImmutableError(ValidationError):
    """A run property that was already set to another value."""


class RunFailedError(RunyardError, RuntimeError):
    """A run ended Failed (or Canceled) while the caller waited for it."""


class EnvironmentBuildError(RunyardError, RuntimeError):
    """Building an environment failed (unknown package, conflicting pins, no such Python)."""


class ModelNotFoundError(RunyardError, KeyError):
    """A model name (or version) the registry does not hold."""

    def __str__(self) -> str:
        return self.message


class UnknownDatastoreError(RunyardError, KeyError):
    """A datastore name the workspace does not know; `valid` lists the known ones."""

    def __str__(self) -> str:
        return self.message


class MissingExtraError(RunyardError, ImportError):
    """A datastore URL whose fsspec filesystem needs a package that is not installed
    (s3:// needs s3fs, az:// adlfs, gs:// gcsfs); `package` names it."""


class NotSupportedError(RunyardError, NotImplementedError):
    """A v1 name or call runyard refuses (`runyard.azureml._surface`); the message says
    why and what to use instead, `name` is the v1 name."""


# -- the run history ----------------------------------------------------------------------
class StoreError(RunyardError):
    """The run history's database failed; `url` names it (without a password)."""


class StoreUnavailableError(StoreError, OSError):
    """The run history cannot be opened or reached: its file cannot be opened or created
    (a missing or unwritable folder, not a database), or its server does not answer."""


class StoreLockedError(StoreError, TimeoutError):
    """Another connection held the run history's write lock past the busy timeout."""


class StoreFullError(StoreError, OSError):
    """The run history's disk (or the database's quota) is full."""


class StoreConflictError(StoreError, ValueError):
    """A row that clashes with one already in the run history (a duplicate key, a
    reference to a row that is not there)."""


# -- the artifact store -------------------------------------------------------------------
class ArtifactStoreError(RunyardError, OSError):
    """Reading or writing the artifact store (or a local file it copies) failed; `path`
    names the file, `errno` is the operating system's error number when there is one."""


class ArtifactNotFoundError(ArtifactStoreError, FileNotFoundError):
    """A run file or blob that is not in the artifact store."""


class ArtifactPermissionError(ArtifactStoreError, PermissionError):
    """A file or folder of the artifact store that this process may not read or write."""


class ArtifactPathConflictError(ArtifactStoreError):
    """A key whose path is a folder where a file must be, or runs through a file."""


class ArtifactStoreFullError(ArtifactStoreError):
    """No space left where the artifact store writes (ENOSPC, EDQUOT)."""


class ArtifactStoreUnavailableError(ArtifactStoreError, ConnectionError):
    """A remote artifact store (an fsspec filesystem) that does not answer in time."""


class ChecksumMismatchError(ArtifactStoreError):
    """A file read back from the artifact store whose sha256 is not the registered one."""
