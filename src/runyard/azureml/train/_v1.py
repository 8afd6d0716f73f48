"""v1 estimator arguments → runyard estimator arguments, shared by the mirror's estimators.

v1's estimators take about thirty arguments. The ones runyard's estimators understand pass
through; `pip_requirements_file_path` is v1's older name for `pip_requirements_file`;
the ones about Docker and Azure's storage are ignored with one warning line; a conda
environment file is refused, since runyard reads packages from lists or a requirements file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.azureml._ignored import warn_ignored
from runyard.errors import ValidationError

IGNORED = {"vm_size": None, "vm_priority": None, "use_docker": True,
           "image_registry_details": None, "source_directory_data_store": None,
           "shm_size": None, "resume_from": None, "_enable_optimized_mode": False,
           "_disable_validation": True, "_show_lint_warnings": False,
           "_show_package_warnings": False}
PASSED = ("compute_target", "entry_script", "script_params", "node_count",
          "process_count_per_node", "distributed_backend", "distributed_training", "use_gpu",
          "custom_docker_base_image", "custom_docker_image", "user_managed",
          "conda_packages", "pip_packages", "pip_requirements_file",
          "environment_variables", "environment_definition", "inputs",
          "max_run_duration_seconds")


def runyard_arguments(where: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for runyard's estimator, from a v1 estimator's `locals()`."""
    warn_ignored(where, given, IGNORED, stacklevel=4)
    for name in ("conda_dependencies_file", "conda_dependencies_file_path"):
        if given.get(name):
            raise ValidationError(
                f"{where}({name}={given[name]!r}): conda environment files are not read "
                f"here; list the packages as conda_packages= / pip_packages=, or give a "
                f"pip_requirements_file", name=name)
    arguments = {name: given[name] for name in PASSED if name in given}
    alias = given.get("pip_requirements_file_path")
    if alias:
        if arguments.get("pip_requirements_file"):
            raise ValidationError(f"{where}: give pip_requirements_file or its older name "
                                  f"pip_requirements_file_path, not both")
        arguments["pip_requirements_file"] = alias
    return arguments
