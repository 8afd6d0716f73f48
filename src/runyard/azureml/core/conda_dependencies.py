"""`azureml.core.conda_dependencies`: packages for an environment (runyard's, v1's names).

`CondaDependencies.create(python_version=None)` means the Python runyard runs on, where v1
pinned its own default. Conda packages are built with conda, mamba or micromamba where
one is on PATH, from PyPI otherwise, with one warning line giving the mapping
(docs/migration.md, "conda fallback")."""

from runyard.azureml._surface import module_getattr
from runyard.environment import CondaDependencies

__all__ = ["CondaDependencies"]

__getattr__ = module_getattr(__name__)
