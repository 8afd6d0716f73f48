"""`azureml.core.conda_dependencies`: packages for an environment (runyard's, v1's names).

`CondaDependencies.create(python_version=None)` means the Python runyard runs on, where v1
pinned its own default."""

from runyard.environment import CondaDependencies

__all__ = ["CondaDependencies"]
