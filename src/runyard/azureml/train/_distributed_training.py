"""v1's older distributed-training classes (`azureml.train.estimator.Mpi`, ...), as
runyard's distributed configurations with v1's constructors.

An estimator's `node_count` (and `process_count_per_node`) complete them, as in v1:
`PyTorch(..., node_count=2, process_count_per_node=4, distributed_training=Nccl())` is
eight NCCL processes on two nodes; `TensorFlow(..., distributed_training=ParameterServer(
worker_count=2))` is two workers and one parameter server.
"""

from __future__ import annotations

from runyard.distributed import MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration


class Mpi(MpiConfiguration):
    """`process_count_per_node` processes started by `mpirun` on each of the estimator's
    nodes."""

    def __init__(self, process_count_per_node: int = 1) -> None:
        super().__init__(process_count_per_node=process_count_per_node)


class ParameterServer(TensorflowConfiguration):
    """TensorFlow workers and parameter servers, each with its TF_CONFIG."""

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        super().__init__(worker_count=worker_count, parameter_server_count=parameter_server_count)


class Gloo(PyTorchConfiguration):
    """torch.distributed over Gloo: the estimator's node_count × process_count_per_node
    processes."""

    def __init__(self) -> None:
        super().__init__(communication_backend="Gloo")


class Nccl(PyTorchConfiguration):
    """torch.distributed over NCCL (GPUs): the estimator's node_count ×
    process_count_per_node processes."""

    def __init__(self) -> None:
        super().__init__(communication_backend="Nccl")


__all__ = ["Gloo", "Mpi", "Nccl", "ParameterServer"]
