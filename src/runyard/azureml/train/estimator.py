"""`azureml.train.estimator`: v1's generic Estimator, with v1's signature."""

from __future__ import annotations

import os
from typing import Any

from runyard.azureml._surface import module_getattr
from runyard.azureml.train._distributed_training import Gloo, Mpi, Nccl, ParameterServer
from runyard.azureml.train._v1 import MMLBaseEstimatorRunConfig, V1Estimator, runyard_arguments
from runyard.train import Estimator as _Estimator


class MMLBaseEstimator(V1Estimator, _Estimator):
    """v1's base class of every estimator: runyard's Estimator with v1's `run_config` and
    `conda_dependencies`."""


class Estimator(MMLBaseEstimator):
    """Run `entry_script` with `script_params` and the packages it needs (v1's arguments).

    Example:
        >>> est = Estimator(source_directory="./train", entry_script="train.py",
        ...                 compute_target="local", pip_packages=["scikit-learn"])
    """

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
                 _disable_validation: bool = True, _show_lint_warnings: bool = False,
                 _show_package_warnings: bool = False) -> None:
        super().__init__(source_directory, **runyard_arguments("Estimator", locals()))


__getattr__ = module_getattr(__name__)

__all__ = ["Estimator", "Gloo", "MMLBaseEstimator", "MMLBaseEstimatorRunConfig", "Mpi", "Nccl",
           "ParameterServer"]
