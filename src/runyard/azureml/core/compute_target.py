"""`azureml.core.compute_target`: the exception v1 notebooks catch to create a cluster."""

from runyard.errors import ComputeTargetException

__all__ = ["ComputeTargetException"]
