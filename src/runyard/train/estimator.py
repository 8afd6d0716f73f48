"""Estimators (azureml-train-core v1): a script, its parameters and its packages.

An estimator is a ScriptRunConfig plus an environment it makes from `pip_packages`,
`conda_packages` and its framework: `script_params` become argv in the order given
(`True` or `""` → a bare flag, as v1 passes `{"--v": ""}` for a store_true flag;
`False`/`None` → left out), and everything is validated when the
estimator is submitted, before any run exists.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from runyard.errors import ValidationError
from runyard.train.script_run_config import ScriptRunConfig, Submission, _argument

if TYPE_CHECKING:
    from runyard.compute import ComputeTarget
    from runyard.environment import Environment

TENSORFLOW_DEFAULT_VERSION = "2.21"
# The oldest TensorFlow with a build for each Python (tensorflow.org/install/pip)
TENSORFLOW_OLDEST_FOR_PYTHON = {(3, 10): (2, 8), (3, 11): (2, 12), (3, 12): (2, 16),
                                (3, 13): (2, 20)}


def script_params_to_arguments(script_params: dict[str, Any] | None) -> list[Any]:
    """`{"--lr": 0.01, "--verbose": True, "--fast": "", "--skip": False}` →
    `["--lr", 0.01, "--verbose", "--fast"]`."""
    if script_params is None:
        return []
    if not isinstance(script_params, dict):
        raise ValidationError(f"script_params must be a dict of flag to value, got "
                              f"{type(script_params).__name__}")
    arguments: list[Any] = []
    for flag, value in script_params.items():
        if not isinstance(flag, str) or not flag:
            raise ValidationError(f"script_params key {flag!r} is not a flag string")
        if value is True or (isinstance(value, str) and value == ""):
            arguments.append(flag)
        elif value is False or value is None:
            continue
        else:
            arguments += [flag, value]
    return arguments


class Estimator:
    """Run `entry_script` with `script_params` and the packages it needs.

    Example:
        >>> est = Estimator(source_directory="./train", entry_script="train.py",
        ...                 script_params={"--epochs": 3}, pip_packages=["scikit-learn"])
        >>> run = exp.submit(est)  # doctest: +SKIP
    """

    _framework = "estimator"

    def __init__(self, source_directory: str | os.PathLike[str], *,
                 compute_target: str | ComputeTarget | None = None,
                 vm_size: str | None = None, vm_priority: str | None = None,
                 entry_script: str | None = None, script_params: dict[str, Any] | None = None,
                 node_count: int = 1, process_count_per_node: int = 1,
                 distributed_backend: str | None = None, distributed_training: Any = None,
                 use_gpu: bool = False, use_docker: bool = True,
                 custom_docker_image: str | None = None,
                 custom_docker_base_image: str | None = None, user_managed: bool = False,
                 conda_packages: list[str] | None = None, pip_packages: list[str] | None = None,
                 pip_requirements_file: str | None = None,
                 environment_variables: dict[str, str] | None = None,
                 environment_definition: Environment | None = None,
                 inputs: list[Any] | None = None, framework_version: str | None = None,
                 max_run_duration_seconds: int | None = None, **azure_arguments: Any) -> None:
        self.source_directory = source_directory
        self.compute_target = compute_target
        self.entry_script = entry_script
        self.script_params = dict(script_params or {})
        self.node_count = node_count
        self.process_count_per_node = process_count_per_node
        self.distributed_training = distributed_training or distributed_backend
        self.use_gpu = use_gpu
        self.custom_docker_image = custom_docker_image or custom_docker_base_image
        self.user_managed = user_managed
        self.conda_packages = list(conda_packages or [])
        self.pip_packages = list(pip_packages or [])
        self.pip_requirements_file = pip_requirements_file
        self.environment_variables = dict(environment_variables or {})
        self.environment_definition = environment_definition
        self.inputs = list(inputs or [])
        self.framework_version = framework_version
        self.max_run_duration_seconds = max_run_duration_seconds
        ignored = sorted(k for k, v in {"vm_size": vm_size, "vm_priority": vm_priority,
                                         **azure_arguments}.items() if v is not None)
        if ignored:
            import warnings

            warnings.warn(f"runyard ignores these estimator arguments here: "
                          f"{', '.join(ignored)}", stacklevel=2)

    # -- what the framework adds ----------------------------------------------------------
    def _framework_packages(self) -> list[str]:
        return []

    def _framework_environment_variables(self) -> dict[str, str]:
        return {}

    def _environment(self) -> Environment:
        from runyard.environment import CondaDependencies, Environment

        if self.environment_definition is not None:
            given = [name for name, value in (("pip_packages", self.pip_packages),
                                              ("conda_packages", self.conda_packages),
                                              ("pip_requirements_file",
                                               self.pip_requirements_file)) if value]
            if given:
                raise ValidationError(
                    f"give either environment_definition or {', '.join(given)}, not both: "
                    f"put the packages in the environment definition")
            return self.environment_definition
        if self.pip_requirements_file:
            env = Environment.from_pip_requirements(f"{self._framework}-estimator",
                                                    self.pip_requirements_file)
        else:
            env = Environment(f"{self._framework}-estimator")
        deps = env.python.conda_dependencies
        packages = [] if self.user_managed else self._framework_packages()
        extra = CondaDependencies.create(pip_packages=[*packages, *self.pip_packages],
                                         conda_packages=self.conda_packages)
        for package in extra.pip_packages:
            deps.add_pip_package(package)
        for package in extra.conda_packages:
            deps.add_conda_package(package)
        if self.user_managed:
            env.python.user_managed_dependencies = True
        if self.custom_docker_image:
            env.docker.base_image = self.custom_docker_image
        env.environment_variables = {**self._framework_environment_variables(),
                                     **self.environment_variables}
        return env

    def _distributed(self) -> dict[str, Any] | None:
        """v1's estimator arguments as one distributed configuration."""
        from runyard.distributed import (
            MpiConfiguration,
            PyTorchConfiguration,
            configuration_from,
        )

        nodes, per_node = self.node_count, self.process_count_per_node
        chosen = self.distributed_training
        if isinstance(chosen, PyTorchConfiguration) and chosen.process_count is None:
            chosen = PyTorchConfiguration(chosen.communication_backend, nodes * per_node,
                                          nodes)
        if chosen is None and (nodes, per_node) != (1, 1):
            chosen = MpiConfiguration(per_node, nodes)  # v1: processes per node mean MPI
        return configuration_from(chosen, node_count=nodes, process_count_per_node=per_node)

    def _submission(self) -> Submission:
        if not self.entry_script:
            raise ValidationError("the estimator needs entry_script=, the file to run")
        distributed = self._distributed()
        config = ScriptRunConfig(
            source_directory=self.source_directory, script=self.entry_script,
            arguments=script_params_to_arguments(self.script_params),
            compute_target=self.compute_target, environment=self._environment(),
            max_run_duration_seconds=self.max_run_duration_seconds,
        )
        submission = config._submission()
        submission.config["distributed"] = distributed
        references = submission.config.setdefault("data_references", {})
        for position, item in enumerate(self.inputs):
            if not callable(getattr(item, "to_config", None)):
                raise ValidationError(f"inputs[{position}] is a {type(item).__name__}; "
                                      f"inputs are DataReferences (ds.as_mount(), ...)")
            _argument(item, position, references)
        if not references:
            del submission.config["data_references"]
        submission.config["kind"] = "script"
        submission.config["estimator"] = {"framework": self._framework,
                                          "framework_version": self.framework_version,
                                          "use_gpu": self.use_gpu}
        return submission


class TensorFlow(Estimator):
    """An estimator for TensorFlow 2 scripts.

    Installs `tensorflow-cpu` (or `tensorflow[and-cuda]` with use_gpu) at
    `framework_version` (default: the current 2.x) with `tf-keras`, and sets
    TF_USE_LEGACY_KERAS=1: Keras 3's `fit` fails under MultiWorkerMirroredStrategy
    ("unsupported type PerReplica"), tf-keras works, so the working path is the default.
    """

    _framework = "tensorflow"

    def __init__(self, source_directory: str | os.PathLike[str], *,
                 framework_version: str | None = None, **kwargs: Any) -> None:
        version = framework_version or TENSORFLOW_DEFAULT_VERSION
        if not re.fullmatch(r"2\.\d+(\.\d+)?", str(version)):
            raise ValidationError(
                f"framework_version {version!r} is not a TensorFlow 2.x version like "
                f"'{TENSORFLOW_DEFAULT_VERSION}' (TensorFlow 1.x does not install on "
                f"Python 3.10+)", version=version)
        super().__init__(source_directory, framework_version=str(version), **kwargs)

    def _submission(self) -> Submission:
        check_tensorflow_version(str(self.framework_version or TENSORFLOW_DEFAULT_VERSION),
                                 self._environment().build_spec()["python"])
        return super()._submission()

    def _pin(self) -> str:
        version = self.framework_version or TENSORFLOW_DEFAULT_VERSION
        return f"=={version}.*" if version.count(".") == 1 else f"=={version}"

    def _framework_packages(self) -> list[str]:
        build = "tensorflow[and-cuda]" if self.use_gpu else "tensorflow-cpu"
        return [f"{build}{self._pin()}", f"tf-keras{self._pin()}"]

    def _framework_environment_variables(self) -> dict[str, str]:
        return {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def check_tensorflow_version(version: str, python: str) -> None:
    """Refuse at submit a TensorFlow `version` that has no build for the run's `python`
    ("3.11"), saying what would install instead."""
    wanted = tuple(int(part) for part in version.split(".")[:2])
    major, minor = (int(part) for part in python.split(".")[:2])
    oldest = TENSORFLOW_OLDEST_FOR_PYTHON.get((major, minor),
                                              max(TENSORFLOW_OLDEST_FOR_PYTHON.values()))
    if wanted[0] < 2:
        raise ValidationError(
            f"framework_version {version!r} asks for TensorFlow 1.x, which installs only on "
            f"Python 3.7 or older, and this run's Python is {major}.{minor}; use TensorFlow 2 "
            f"(framework_version='{TENSORFLOW_DEFAULT_VERSION}', the default): its "
            f"tf.compat.v1 runs TF1 graph code, parameter servers included", version=version)
    if wanted < oldest:
        first = ".".join(map(str, oldest))
        raise ValidationError(
            f"framework_version {version!r}: TensorFlow {version} has no build for Python "
            f"{major}.{minor}, this run's Python; the oldest that installs is {first}: use "
            f"framework_version='{first}' or newer (default "
            f"'{TENSORFLOW_DEFAULT_VERSION}')", version=version)
