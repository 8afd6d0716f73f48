"""v1 estimator arguments → runyard estimator arguments, shared by the mirror's estimators.

v1's estimators take about thirty arguments. The ones runyard's estimators understand pass
through; `pip_requirements_file_path` is v1's older name for `pip_requirements_file`;
the ones about Docker and Azure's storage are ignored with one warning line; a conda
environment file is refused, since runyard reads packages from lists or a requirements file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runyard.azureml._ignored import warn_ignored
from runyard.azureml.core.runconfig import RunConfiguration
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.environment import CondaDependencies, Environment
    from runyard.train.script_run_config import Submission

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


# -- v1's run configuration of an estimator -------------------------------------------------

class MMLBaseEstimatorRunConfig(RunConfiguration):
    """v1's run configuration of an estimator: a RunConfiguration made from estimator
    arguments (target, node count, packages, environment)."""

    def __init__(self, compute_target: Any = None, vm_size: str | None = None,
                 vm_priority: str | None = None, entry_script: str | None = None,
                 script_params: dict[str, Any] | None = None, node_count: int | None = None,
                 process_count_per_node: int | None = None,
                 distributed_backend: str | None = None, use_gpu: bool | None = None,
                 use_docker: bool | None = None, custom_docker_base_image: str | None = None,
                 custom_docker_image: str | None = None, image_registry_details: Any = None,
                 user_managed: bool = False, conda_packages: list[str] | None = None,
                 pip_packages: list[str] | None = None, environment_definition: Any = None,
                 inputs: list[Any] | None = None, source_directory_data_store: Any = None,
                 shm_size: str | None = None) -> None:
        from runyard.train.estimator import script_params_to_arguments

        warn_ignored("MMLBaseEstimatorRunConfig", locals(), {
            "vm_size": None, "vm_priority": None, "use_docker": None,
            "image_registry_details": None, "source_directory_data_store": None,
            "shm_size": None, "use_gpu": None, "custom_docker_base_image": None,
            "custom_docker_image": None, "inputs": None})
        super().__init__(script=entry_script,
                         arguments=script_params_to_arguments(script_params))
        if compute_target is not None:
            self.target = compute_target
        self.node_count = node_count or 1
        if process_count_per_node:
            self.mpi.process_count_per_node = process_count_per_node
        if distributed_backend:
            self.communicator = {"mpi": "IntelMpi", "ps": "ParameterServer",
                                 "parameter_server": "ParameterServer", "nccl": "Nccl",
                                 "gloo": "Gloo"}.get(distributed_backend.lower(),
                                                     distributed_backend)
        if environment_definition is not None:
            self.environment = environment_definition
        deps = self.environment.python.conda_dependencies
        for package in pip_packages or []:
            deps.add_pip_package(package)
        for package in conda_packages or []:
            deps.add_conda_package(package)
        if user_managed:
            self.environment.python.user_managed_dependencies = True


class V1Estimator:
    """What v1's estimators have beyond runyard's: `run_config` (an
    MMLBaseEstimatorRunConfig made from the estimator's arguments on first use) and
    `conda_dependencies` (its environment's). What is changed on them before submit is
    what the run gets: the environment (packages, variables), the target, the node count
    and the environment variables."""

    _run_config: MMLBaseEstimatorRunConfig | None = None

    @property
    def run_config(self) -> MMLBaseEstimatorRunConfig:
        if self._run_config is None:
            from runyard.train import Estimator
            from runyard.train.estimator import script_params_to_arguments

            assert isinstance(self, Estimator)
            config = MMLBaseEstimatorRunConfig(compute_target=self.compute_target,
                                               entry_script=self.entry_script,
                                               node_count=self.node_count)
            config.arguments = script_params_to_arguments(self.script_params)
            config.environment = Estimator._environment(self)
            config.environment_variables = dict(self.environment_variables)
            self._run_config = config
        return self._run_config

    @property
    def conda_dependencies(self) -> CondaDependencies:
        deps: CondaDependencies = self.run_config.environment.python.conda_dependencies
        return deps

    def _environment(self) -> Environment:
        if self._run_config is not None:
            return self._run_config.environment
        from runyard.train import Estimator

        assert isinstance(self, Estimator)
        return Estimator._environment(self)

    def _submission(self) -> Submission:
        config = self._run_config
        if config is not None:
            config._check_for_submit()
            self.compute_target = config.compute_target()
            self.node_count = config.node_count
            config.environment.environment_variables.update(config.environment_variables)
        submission: Submission = super()._submission()  # type: ignore[misc]
        return submission
