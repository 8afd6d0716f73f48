"""`azureml.core.conda_dependencies`: packages for an environment (runyard's, v1's names).

`CondaDependencies.create(python_version=None)` means the Python runyard runs on, where v1
pinned its own default. Conda packages are built with conda, mamba or micromamba where
one is on PATH, from PyPI otherwise, with one warning line giving the mapping
(docs/migration.md, "conda fallback")."""

import re

from runyard.azureml._surface import module_getattr
from runyard.environment import CondaDependencies

__all__ = ["CondaDependencies"]

# v1's module constants (its defaults; runyard's own choices are in CondaDependencies)
BASE_PROJECT_MODULE = "azureml._project"
BASE_PROJECT_FILE_RELATIVE_PATH = "base_project_files/conda_dependencies.yml"
DEFAULT_SDK_ORIGIN = "https://pypi.python.org/simple"
CONDA_FILE_NAME = "auto_conda_dependencies.yml"
CHANNELS = "channels"
PACKAGES = "dependencies"
PIP = "pip"
PYTHON_PREFIX = "python"
VERSION_REGEX = re.compile(r"(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$")
CNTK_DEFAULT_VERSION = "2.7"
PYTHON_DEFAULT_VERSION = "3.10.18"
LINUX_PLATFORM = "linux"
WINDOWS_PLATFORM = "win32"
TENSORFLOW_DEFAULT_VERSION = "2.2.0"
PYTORCH_DEFAULT_VERSION = "1.6.0"
TORCHVISION_DEFAULT_VERSION = "0.7.0"
HOROVOD_DEFAULT_VERSION = "0.19.5"
DEFAULT_CHAINER_VERSION = "7.7.0"
CUPY_DEFAULT_VERSION = "cupy-cuda102"
CPU = "cpu"
GPU = "gpu"
CNTK_PACKAGE_PREFIX = "cntk"
TENSORFLOW_PACKAGE_PREFIX = "tensorflow"
PYTORCH_PACKAGE_PREFIX = "torch"
TORCHVISION_PACKAGE_PREFIX = "torchvision"
CHAINER_PACKAGE_PREFIX = "chainer"
INVALID_PATHON_MESSAGE = "Invalid python version {0}, only accept '3.8'"

__getattr__ = module_getattr(__name__)
