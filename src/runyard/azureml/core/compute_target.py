"""`azureml.core.compute_target`: the exception v1 notebooks catch to create a cluster.

v1's legacy (pre-`ComputeTarget`) API here, `prepare_compute_target` and the
`*_legacy_compute_target` functions, `AbstractComputeTarget` and `LocalTarget`, is refused
with what to use instead (`runyard.azureml._surface`).
"""

from runyard.azureml._surface import module_getattr
from runyard.errors import ComputeTargetException

__getattr__ = module_getattr(__name__)

__all__ = ["ComputeTargetException"]
