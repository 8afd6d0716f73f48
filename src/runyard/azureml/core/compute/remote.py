"""`azureml.core.compute.remote`: v1's SSH-attached machine, refused.

runyard reaches other machines through Ray: start Ray on the machine and attach that
cluster by its dashboard address (docs/ray.md). `RemoteCompute.attach_configuration(...)`
raises `NotSupportedError` saying so.
"""

from runyard.azureml._surface import module_getattr

__getattr__ = module_getattr(__name__)

# the names module_getattr serves (F822: ruff cannot see them)
__all__ = [  # noqa: F822
           "ComputeTargetException", "RemoteCompute", "RemoteComputeAttachConfiguration"]
