"""`azureml.core.runconfig`: RunConfiguration and the distributed job configurations.

MpiConfiguration and TensorflowConfiguration are runyard's (v1's arguments and defaults);
PyTorchConfiguration keeps v1's default backend, NCCL, which needs GPUs: on CPUs pass
`communication_backend="Gloo"`.
"""

from __future__ import annotations

from typing import Any

from runyard.azureml._ignored import warn_ignored
from runyard.distributed import MpiConfiguration, TensorflowConfiguration
from runyard.distributed import PyTorchConfiguration as _PyTorchConfiguration
from runyard.environment import CondaDependencies, DockerConfiguration, Environment
from runyard.errors import ValidationError

_COMMUNICATORS = ("None", "ParameterServer", "Mpi", "IntelMpi", "Nccl", "Gloo")


class PyTorchConfiguration(_PyTorchConfiguration):
    """torch.distributed processes (v1's defaults: NCCL, one process per node)."""

    def __init__(self, communication_backend: str = "Nccl", process_count: int | None = None,
                 node_count: int = 1) -> None:
        super().__init__(communication_backend, process_count, node_count)


class RunConfiguration:
    """v1's run configuration: where (`target`), with what (`environment`), and how many
    processes (`communicator` with `node_count` and `mpi` / `tensorflow` / `pytorch`).
    `ScriptRunConfig(run_config=...)` reads it; arguments given to ScriptRunConfig win.

    Example:
        >>> run_config = RunConfiguration()
        >>> run_config.environment.python.conda_dependencies = CondaDependencies.create(
        ...     pip_packages=["scikit-learn"])
        >>> run_config.target = "local"
    """

    def __init__(self, script: str | None = None, arguments: list[Any] | None = None,
                 framework: str | None = None, communicator: str | None = None,
                 conda_dependencies: CondaDependencies | None = None,
                 _history_enabled: bool | None = None, _path: str | None = None,
                 _name: str | None = None, command: str | list[str] | None = None) -> None:
        warn_ignored("RunConfiguration", locals(), {"_history_enabled": None, "_path": None,
                                                    "_name": None})
        if command:
            raise ValidationError("RunConfiguration(command=...) is not supported; give the "
                                  "script and its arguments (script=, arguments=)")
        self.script = script
        self.arguments = list(arguments or [])
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.node_count = 1
        self.max_run_duration_seconds: int | None = None
        self.environment = Environment("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.environment_variables: dict[str, str] = {}
        self.mpi = MpiConfiguration()
        self.tensorflow = TensorflowConfiguration()
        self.pytorch = PyTorchConfiguration()
        self._target = "local"

    @property
    def target(self) -> str:
        """The compute target's name ("local": this machine)."""
        return self._target

    @target.setter
    def target(self, target: Any) -> None:
        name = getattr(target, "name", target)
        if not isinstance(name, str):
            raise ValidationError(f"target must be a compute target or its name, got "
                                  f"{type(target).__name__}")
        self._target = name

    def distributed_job_config(self) -> Any:
        """The distributed configuration `communicator` names (None for one process)."""
        communicator = str(self.communicator)
        chosen = communicator.lower()
        if chosen == "none":
            return None
        if chosen == "parameterserver":
            return self.tensorflow
        if chosen in ("mpi", "intelmpi"):
            return MpiConfiguration(self.mpi.process_count_per_node, self.node_count)
        if chosen in ("nccl", "gloo"):
            return PyTorchConfiguration(communicator, self.pytorch.process_count,
                                        self.node_count)
        raise ValidationError(f"communicator {communicator!r} is not one of "
                              f"{', '.join(_COMMUNICATORS)}")


__all__ = ["DockerConfiguration", "MpiConfiguration", "PyTorchConfiguration", "RunConfiguration",
           "TensorflowConfiguration"]
