"""Distributed job configurations, in azureml-core v1's shape (`runconfig`)."""

from __future__ import annotations

from typing import Any

from runyard.errors import ValidationError


def _count(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValidationError(f"{name} must be an integer ≥ {minimum}, got {value!r}",
                              name=name, value=value)
    return value


class TensorflowConfiguration:
    """TensorFlow workers (and parameter servers) with a TF_CONFIG each.

    With `parameter_server_count=0`: MultiWorkerMirroredStrategy's layout, workers only.
    With parameter servers: the v1 article's layout, `{"ps": [...], "worker": [...]}` and
    `"environment": "cloud"`, worker 0 acting as chief; `chief_count=1` adds the `"chief"`
    task TF2's ParameterServerStrategy needs as its coordinator.
    """

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1,
                 chief_count: int = 0) -> None:
        self.worker_count = _count("worker_count", worker_count, 1)
        self.parameter_server_count = _count("parameter_server_count",
                                             parameter_server_count, 0)
        self.chief_count = _count("chief_count", chief_count, 0)
        if self.chief_count > 1:
            raise ValidationError(f"chief_count must be 0 or 1, got {chief_count}")

    def __repr__(self) -> str:
        return (f"TensorflowConfiguration(worker_count={self.worker_count}, "
                f"parameter_server_count={self.parameter_server_count}, "
                f"chief_count={self.chief_count})")

    def to_dict(self) -> dict[str, Any]:
        return {"framework": "tensorflow", "worker_count": self.worker_count,
                "parameter_server_count": self.parameter_server_count,
                "chief_count": self.chief_count}


class MpiConfiguration:
    """Processes started by OpenMPI's `mpirun`: `node_count` × `process_count_per_node`."""

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1) -> None:
        self.process_count_per_node = _count("process_count_per_node",
                                             process_count_per_node, 1)
        self.node_count = _count("node_count", node_count, 1)

    def __repr__(self) -> str:
        return (f"MpiConfiguration(process_count_per_node={self.process_count_per_node}, "
                f"node_count={self.node_count})")

    def to_dict(self) -> dict[str, Any]:
        return {"framework": "mpi", "process_count_per_node": self.process_count_per_node,
                "node_count": self.node_count}


class PyTorchConfiguration:
    """torch.distributed processes with the variables torchrun sets (MASTER_ADDR, ...)."""

    def __init__(self, communication_backend: str = "Gloo", process_count: int | None = None,
                 node_count: int = 1) -> None:
        if not isinstance(communication_backend, str) or \
                communication_backend.lower() not in ("gloo", "nccl", "mpi"):
            raise ValidationError(f"communication_backend must be Gloo, NCCL or MPI, got "
                                  f"{communication_backend!r}")
        self.communication_backend = communication_backend
        self.node_count = _count("node_count", node_count, 1)
        self.process_count = None if process_count is None else _count(
            "process_count", process_count, 1)
        if self.process_count is not None and self.process_count % self.node_count:
            raise ValidationError(f"process_count {process_count} is not a multiple of "
                                  f"node_count {node_count}")

    def __repr__(self) -> str:
        return (f"PyTorchConfiguration(communication_backend={self.communication_backend!r}, "
                f"process_count={self.process_count}, node_count={self.node_count})")

    def to_dict(self) -> dict[str, Any]:
        return {"framework": "pytorch", "backend": self.communication_backend.lower(),
                "process_count": self.process_count, "node_count": self.node_count}


def configuration_from(value: Any, *, node_count: int = 1,
                       process_count_per_node: int = 1) -> dict[str, Any] | None:
    """The plain-data form of a distributed configuration (or of v1's backend strings)."""
    if value is None:
        return None
    if isinstance(value, str):
        backend = value.lower()
        if backend == "mpi":
            value = MpiConfiguration(process_count_per_node, node_count)
        elif backend in ("ps", "parameter_server"):
            value = TensorflowConfiguration()
        else:
            raise ValidationError(f"distributed_backend {value!r} is not one of 'mpi', 'ps'")
    if isinstance(value, MpiConfiguration) and (process_count_per_node, node_count) != (1, 1):
        value = MpiConfiguration(max(process_count_per_node, value.process_count_per_node),
                                 max(node_count, value.node_count))
    to_dict = getattr(value, "to_dict", None)
    if not isinstance(value, TensorflowConfiguration | MpiConfiguration |
                      PyTorchConfiguration) or to_dict is None:
        raise ValidationError(
            f"distributed configuration must be a TensorflowConfiguration, MpiConfiguration "
            f"or PyTorchConfiguration, got {type(value).__name__}")
    config: dict[str, Any] = to_dict()
    if config["framework"] == "tensorflow":  # v1 keeps the node count in the run config
        config["node_count"] = _count("node_count", node_count, 1)
    return config
