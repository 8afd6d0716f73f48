"""Environments: v1-shaped definitions, built with uv and cached by content."""

from runyard.environment._cache import EnvironmentCache, PreparedEnvironment
from runyard.environment._definition import CondaDependencies, Environment

__all__ = ["CondaDependencies", "Environment", "EnvironmentCache", "PreparedEnvironment"]
