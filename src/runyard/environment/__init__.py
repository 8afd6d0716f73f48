"""Environments: v1-shaped definitions, built with uv and cached by content."""

from runyard.environment._cache import EnvironmentCache, PreparedEnvironment
from runyard.environment._definition import Environment
from runyard.environment._dependencies import CondaDependencies, EnvironmentFallbackWarning
from runyard.environment._docker import (
    ContainerRegistry,
    DockerConfiguration,
    DockerIgnoredWarning,
    RegistryIdentity,
)

__all__ = ["CondaDependencies", "ContainerRegistry", "DockerConfiguration",
           "DockerIgnoredWarning", "Environment", "EnvironmentCache",
           "EnvironmentFallbackWarning", "PreparedEnvironment", "RegistryIdentity"]
