"""`azureml.exceptions`: v1's exception classes, as runyard's errors.

Where runyard raises an error of its own for v1's case, v1's name is that class, so a v1
`except` clause catches what runyard raises: `ComputeTargetException` (a compute target
not found), `ModelNotFoundException` (a model name or version), `ActivityFailedException`
(`wait_for_completion` on a failed run), `UserErrorException` (bad input). The others are
classes under `AzureMLException` (runyard's base error) that runyard itself rarely raises;
they exist so v1 code that names them imports and runs.
"""

from __future__ import annotations

from runyard.azureml._surface import module_getattr
from runyard.errors import (
    ComputeTargetException,
    ModelNotFoundError,
    RunFailedError,
    RunyardError,
    ValidationError,
)

AzureMLException = RunyardError
UserErrorException = ValidationError
ModelNotFoundException = ModelNotFoundError
ActivityFailedException = RunFailedError


class AzureMLAggregatedException(AzureMLException):
    """Several errors at once (v1 raises it from batch operations)."""


class AuthenticationException(AzureMLException):
    """A sign-in failure (runyard signs nobody in)."""


class DatasetTimestampMissingError(AzureMLException):
    """A time-series dataset without its timestamp column."""


class DiscoveryUrlNotFoundException(AzureMLException):
    """v1 could not find a service's address."""


class ExperimentExecutionException(AzureMLException):
    """An experiment or run could not be started or driven."""


class ModelPathNotFoundException(AzureMLException):
    """A model path that is not in the run's files."""


class ParallelRunException(AzureMLException):
    """A ParallelRunStep failure (pipelines are not in runyard)."""


class ProjectSystemException(AzureMLException):
    """A project (workspace folder) problem."""


class RunConfigurationException(AzureMLException):
    """A run configuration that cannot be used."""


class RunEnvironmentException(AzureMLException):
    """A run's context that is not there."""


class ServiceException(AzureMLException):
    """A service call failed (v1's REST errors)."""


class SnapshotException(AzureMLException):
    """A source snapshot that cannot be taken."""


class TrainingException(AzureMLException):
    """An estimator or training configuration problem."""


class WebserviceException(AzureMLException):
    """A web service problem (deployment is not in runyard yet)."""


class WorkspaceException(AzureMLException):
    """A workspace problem."""


class WorkspacePrivateEndpointException(AzureMLException):
    """A private endpoint problem."""


__getattr__ = module_getattr(__name__)

__all__ = [
    "ActivityFailedException", "AuthenticationException", "AzureMLAggregatedException",
    "AzureMLException", "ComputeTargetException", "DatasetTimestampMissingError",
    "DiscoveryUrlNotFoundException", "ExperimentExecutionException", "ModelNotFoundException",
    "ModelPathNotFoundException", "ParallelRunException", "ProjectSystemException",
    "RunConfigurationException", "RunEnvironmentException", "ServiceException",
    "SnapshotException", "TrainingException", "UserErrorException", "WebserviceException",
    "WorkspaceException", "WorkspacePrivateEndpointException",
]
