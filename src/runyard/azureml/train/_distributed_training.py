"""v1's older distributed-training classes (`azureml.train.estimator.Mpi`, ...), as
runyard's distributed configurations with v1's constructors.

An estimator's `node_count` (and `process_count_per_node`) complete them, as in v1:
`PyTorch(..., node_count=2, process_count_per_node=4, distributed_training=Nccl())` is
eight NCCL processes on two nodes; `TensorFlow(..., distributed_training=ParameterServer(
worker_count=2))` is two workers and one parameter server.
"""

from __future__ import annotations

from runyard.azureml.exceptions import TrainingException
from runyard.distributed import MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration


class _Validates:
    """v1's `validate(estimator_name)`: the estimators this kind of training suits."""

    _supported_frameworks: tuple[str, ...] = ()

    def validate(self, estimator_name: str) -> None:
        if estimator_name.lower() not in self._supported_frameworks:
            raise TrainingException(
                f"{type(self).__name__} distributed training does not suit the "
                f"{estimator_name} estimator; it suits: {', '.join(self._supported_frameworks)}",
                estimator=estimator_name)


class Mpi(_Validates, MpiConfiguration):
    """`process_count_per_node` processes started by `mpirun` on each of the estimator's
    nodes."""

    _supported_frameworks = ("pytorch", "tensorflow", "chainer", "estimator", "lightgbm")

    def __init__(self, process_count_per_node: int = 1) -> None:
        super().__init__(process_count_per_node=process_count_per_node)


class ParameterServer(_Validates, TensorflowConfiguration):
    """TensorFlow workers and parameter servers, each with its TF_CONFIG."""

    _supported_frameworks = ("tensorflow", "estimator")

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        super().__init__(worker_count=worker_count, parameter_server_count=parameter_server_count)


class Gloo(_Validates, PyTorchConfiguration):
    """torch.distributed over Gloo: the estimator's node_count × process_count_per_node
    processes."""

    _supported_frameworks = ("pytorch", "estimator")

    def __init__(self) -> None:
        super().__init__(communication_backend="Gloo")


class Nccl(_Validates, PyTorchConfiguration):
    """torch.distributed over NCCL (GPUs): the estimator's node_count ×
    process_count_per_node processes."""

    _supported_frameworks = ("pytorch", "estimator")

    def __init__(self) -> None:
        super().__init__(communication_backend="Nccl")


__all__ = ["Gloo", "Mpi", "Nccl", "ParameterServer"]
