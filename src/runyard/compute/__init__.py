"""Compute targets: `local` (this machine), `ray` (a Ray cluster) and `slurm` (a Slurm
cluster).

The Ray and Slurm targets and the status records are imported on first use of their names
(PEP 562), so a run's supervisor on the local compute does not load them before its script
starts (tests/test_submit_latency.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runyard.compute.base import (
    ComputeTarget,
    NodeOversubscribedWarning,
    get_compute_target,
    list_compute_targets,
)
from runyard.compute.local import LocalCompute

if TYPE_CHECKING:
    from runyard.compute.ray import RayCompute, RayProvisioningConfiguration
    from runyard.compute.slurm import SlurmCompute
    from runyard.compute.status import ComputeStatus, NodeStateCounts, ScaleSettings

_LAZY = {"RayCompute": "runyard.compute.ray",
         "RayProvisioningConfiguration": "runyard.compute.ray",
         "SlurmCompute": "runyard.compute.slurm",
         "ComputeStatus": "runyard.compute.status",
         "NodeStateCounts": "runyard.compute.status",
         "ScaleSettings": "runyard.compute.status"}

__all__ = ["ComputeStatus", "ComputeTarget", "LocalCompute", "NodeOversubscribedWarning",
           "NodeStateCounts", "RayCompute", "RayProvisioningConfiguration", "ScaleSettings",
           "SlurmCompute",
           "get_compute_target", "list_compute_targets"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
