"""`azureml.core.container_registry`: v1's registry connection, kept and ignored (runyard
runs no containers: the run uses a uv environment, docs/environments.md)."""

from runyard.environment import ContainerRegistry, RegistryIdentity

__all__ = ["ContainerRegistry", "RegistryIdentity"]
