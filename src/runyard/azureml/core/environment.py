"""`azureml.core.environment`: environments, built with uv and cached by content (runyard's
Environment has v1's names: `python.conda_dependencies`, `environment_variables`, ...)."""

from runyard.environment import CondaDependencies, Environment

__all__ = ["CondaDependencies", "Environment"]
