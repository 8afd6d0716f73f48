"""`azureml.core.container_registry`: v1's registry connection, kept and ignored (runyard
runs no containers: the run uses a uv environment, docs/environments.md)."""

from runyard.azureml._surface import module_getattr
from runyard.environment import ContainerRegistry, RegistryIdentity

__all__ = ["ContainerRegistry", "RegistryIdentity"]

__getattr__ = module_getattr(__name__)
