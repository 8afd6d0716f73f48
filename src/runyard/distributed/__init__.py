"""Distributed training: configurations (v1's runconfig) and the process plan."""

from runyard.distributed._configs import (
    MpiConfiguration,
    PyTorchConfiguration,
    TensorflowConfiguration,
    configuration_from,
)
from runyard.distributed.plan import (
    NodeLoad,
    Plan,
    ProcessSpec,
    make_plan,
    node_loads,
    plan_for,
)

__all__ = ["MpiConfiguration", "NodeLoad", "Plan", "ProcessSpec", "PyTorchConfiguration",
           "TensorflowConfiguration", "configuration_from", "make_plan", "node_loads", "plan_for"]
