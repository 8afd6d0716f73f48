"""Every exception runyard raises.

Hierarchy::

    RunyardError
    ├── ValidationError (ValueError)          bad input: names, paths, values
    │   ├── InvalidNameError                  experiment/run/tag names
    │   ├── InvalidArtifactPathError          absolute, '..', NUL, empty
    │   └── InvalidMetricError                metric value of the wrong type
    ├── WorkspaceNotFoundError (FileNotFoundError)
    ├── WorkspaceExistsError (FileExistsError)
    ├── SourceNotFoundError (FileNotFoundError)   source directory or script missing
    ├── ArtifactNotFoundError (FileNotFoundError)
    ├── FileExistsNoOverwriteError (FileExistsError)
    ├── UnknownComputeTargetError (KeyError)
    ├── UnknownBackendError (ValueError)      store/artifact URL scheme nobody serves
    ├── RunNotFoundError (KeyError)
    ├── RunIdInUseError (ValueError)          a child run id another run already has
    ├── ExperimentNotFoundError (KeyError)
    ├── PropertyImmutableError (ValueError)   properties are write-once
    ├── RunFailedError (RuntimeError)         wait_for_completion on a failed run
    ├── EnvironmentBuildError (RuntimeError)  the installer failed; its message inside
    ├── ModelNotFoundError (KeyError)         a model name or version not registered
    ├── ChecksumMismatchError (OSError)       a downloaded file is not the bytes registered
    └── NotSupportedError (NotImplementedError)  a v1 name runyard refuses: why, what instead

Errors carry their context as attributes and pickle with it, because they cross
process boundaries (supervisor → client, later Ray workers).
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


class ArtifactNotFoundError(RunyardError, FileNotFoundError):
    """A run file or blob that is not in the artifact store."""


class FileExistsNoOverwriteError(RunyardError, FileExistsError):
    """A download onto an existing file without overwrite."""


class ComputeTargetException(RunyardError):
    """A compute target that cannot be found, created, reached or used (v1's name)."""


class UnknownComputeTargetError(ComputeTargetException, KeyError):
    """A compute target name the workspace does not know."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


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


class ChecksumMismatchError(RunyardError, OSError):
    """A file read back from the artifact store whose sha256 is not the registered one."""


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
