"""`azureml.train.dnn`: v1's TensorFlow and PyTorch estimators, with v1's signatures.

TensorFlow: `distributed_backend="ps"` with `worker_count` / `parameter_server_count` means
`TensorflowConfiguration(worker_count, parameter_server_count)`, as in v1.
`framework_version` is checked at submit: TensorFlow 1.x (v1's '1.13') does not install on
the Python 3.10+ runyard runs on, and the error says so and what to use.

PyTorch: installs `torch` at `framework_version` (default '2.13'); versions older than
1.13 have no build for Python 3.11 and are refused at submit.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from runyard.azureml._surface import module_getattr
from runyard.azureml.train._distributed_training import Gloo, Mpi, Nccl, ParameterServer
from runyard.azureml.train._v1 import V1Estimator, runyard_arguments
from runyard.distributed import TensorflowConfiguration
from runyard.errors import ValidationError
from runyard.train import Estimator as _Estimator
from runyard.train import TensorFlow as _TensorFlow
from runyard.train.estimator import TENSORFLOW_DEFAULT_VERSION, TENSORFLOW_OLDEST_FOR_PYTHON
from runyard.train.script_run_config import Submission

PYTORCH_DEFAULT_VERSION = "2.13"
PYTORCH_OLDEST = (1, 13)  # the first torch with a build for Python 3.11


def _version(text: str, what: str) -> str:
    parts = text.split(".")
    if not 2 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        raise ValidationError(f"framework_version {text!r} is not a {what} version such as "
                              f"'2.13'", version=text)
    return text


class TensorFlow(V1Estimator, _TensorFlow):
    """v1's TensorFlow estimator (TensorFlow 2 with tf-keras here; see runyard.train)."""

    FRAMEWORK_NAME = "TensorFlow"
    DEFAULT_VERSION = TENSORFLOW_DEFAULT_VERSION

    @classmethod
    def get_supported_versions(cls) -> list[str]:
        """The TensorFlow versions that install on the Python runyard runs on (v1 listed
        its images' versions; 1.x has no build for Python 3.10+)."""
        oldest = TENSORFLOW_OLDEST_FOR_PYTHON.get(sys.version_info[:2],
                                                  max(TENSORFLOW_OLDEST_FOR_PYTHON.values()))
        newest = int(TENSORFLOW_DEFAULT_VERSION.split(".")[1])
        return [f"2.{minor}" for minor in range(oldest[1], newest + 1)]

    def __init__(self, source_directory: str | os.PathLike[str], *, compute_target: Any = None,
                 vm_size: str | None = None, vm_priority: str | None = None,
                 entry_script: str | None = None, script_params: dict[str, Any] | None = None,
                 node_count: int = 1, process_count_per_node: int = 1, worker_count: int = 1,
                 parameter_server_count: int = 1, distributed_backend: str | None = None,
                 distributed_training: Any = None, use_gpu: bool = False,
                 use_docker: bool = True, custom_docker_base_image: str | None = None,
                 custom_docker_image: str | None = None, image_registry_details: Any = None,
                 user_managed: bool = False, conda_packages: list[str] | None = None,
                 pip_packages: list[str] | None = None,
                 conda_dependencies_file_path: str | None = None,
                 pip_requirements_file_path: str | None = None,
                 conda_dependencies_file: str | None = None,
                 pip_requirements_file: str | None = None,
                 environment_variables: dict[str, str] | None = None,
                 environment_definition: Any = None, inputs: list[Any] | None = None,
                 source_directory_data_store: Any = None, shm_size: str | None = None,
                 resume_from: Any = None, max_run_duration_seconds: int | None = None,
                 framework_version: str | None = None, _enable_optimized_mode: bool = False,
                 _disable_validation: bool = True, _show_lint_warnings: bool = False,
                 _show_package_warnings: bool = False) -> None:
        arguments = runyard_arguments("TensorFlow", locals())
        backend = arguments.pop("distributed_backend")
        if isinstance(backend, str) and backend.lower() in ("ps", "parameter_server") \
                and distributed_training is None:
            arguments["distributed_training"] = TensorflowConfiguration(
                worker_count, parameter_server_count)
        else:
            arguments["distributed_backend"] = backend
        super().__init__(source_directory, **arguments)
        # v1 takes any version here; what cannot install is refused at submit
        if framework_version is not None:
            self.framework_version = _version(str(framework_version), "TensorFlow")


class PyTorch(V1Estimator, _Estimator):
    """v1's PyTorch estimator: `torch` at `framework_version` and the script's packages."""

    _framework = "pytorch"
    FRAMEWORK_NAME = "PyTorch"
    DEFAULT_VERSION = PYTORCH_DEFAULT_VERSION

    @classmethod
    def get_supported_versions(cls) -> list[str]:
        """The PyTorch versions runyard accepts: 1.13 (the first with a build for Python
        3.11) up to the default."""
        newest = int(PYTORCH_DEFAULT_VERSION.split(".")[1])
        return ["1.13", *(f"2.{minor}" for minor in range(newest + 1))]

    def __init__(self, source_directory: str | os.PathLike[str], *, compute_target: Any = None,
                 vm_size: str | None = None, vm_priority: str | None = None,
                 entry_script: str | None = None, script_params: dict[str, Any] | None = None,
                 node_count: int = 1, process_count_per_node: int = 1,
                 distributed_backend: str | None = None, distributed_training: Any = None,
                 use_gpu: bool = False, use_docker: bool = True,
                 custom_docker_base_image: str | None = None,
                 custom_docker_image: str | None = None, image_registry_details: Any = None,
                 user_managed: bool = False, conda_packages: list[str] | None = None,
                 pip_packages: list[str] | None = None,
                 conda_dependencies_file_path: str | None = None,
                 pip_requirements_file_path: str | None = None,
                 conda_dependencies_file: str | None = None,
                 pip_requirements_file: str | None = None,
                 environment_variables: dict[str, str] | None = None,
                 environment_definition: Any = None, inputs: list[Any] | None = None,
                 source_directory_data_store: Any = None, shm_size: str | None = None,
                 resume_from: Any = None, max_run_duration_seconds: int | None = None,
                 framework_version: str | None = None, _enable_optimized_mode: bool = False,
                 _disable_validation: bool = True, _show_lint_warnings: bool = False,
                 _show_package_warnings: bool = False) -> None:
        version = _version(str(framework_version or PYTORCH_DEFAULT_VERSION), "PyTorch")
        super().__init__(source_directory, framework_version=version,
                         **runyard_arguments("PyTorch", locals()))

    def _framework_packages(self) -> list[str]:
        version = str(self.framework_version)
        return [f"torch=={version}.*" if version.count(".") == 1 else f"torch=={version}"]

    def _submission(self) -> Submission:
        version = str(self.framework_version)
        if tuple(int(part) for part in version.split(".")[:2]) < PYTORCH_OLDEST:
            python = f"{sys.version_info.major}.{sys.version_info.minor}"
            raise ValidationError(
                f"framework_version {version!r}: PyTorch {version} has no build for Python "
                f"{python}, which runs here; use framework_version='1.13' or newer (default "
                f"'{PYTORCH_DEFAULT_VERSION}')", version=version)
        return super()._submission()


__getattr__ = module_getattr(__name__)

__all__ = ["Gloo", "Mpi", "Nccl", "ParameterServer", "PyTorch", "TensorFlow"]
