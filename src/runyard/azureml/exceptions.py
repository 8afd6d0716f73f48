"""`azureml.exceptions`: the v1 exception names notebooks catch, as runyard's errors."""

from runyard.errors import ComputeTargetException, RunyardError, ValidationError

AzureMLException = RunyardError
UserErrorException = ValidationError

__all__ = ["AzureMLException", "ComputeTargetException", "UserErrorException"]
