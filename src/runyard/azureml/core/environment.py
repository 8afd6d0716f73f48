"""`azureml.core.environment`: environments, built with uv and cached by content (runyard's
Environment has v1's names: `python.conda_dependencies`, `environment_variables`,
`docker.*` (kept, ignored with a warning: no Docker engine is used), `from_conda_specification`,
and Azure's curated names through `Environment.get`)."""

from runyard.azureml._surface import module_getattr
from runyard.environment import CondaDependencies, Environment
from runyard.environment._definition import PythonSection
from runyard.environment._docker import DockerSection

__all__ = ["CondaDependencies", "DockerSection", "Environment", "PythonSection"]

__getattr__ = module_getattr(__name__)
