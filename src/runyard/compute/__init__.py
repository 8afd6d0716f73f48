"""Compute targets: `local` (this machine) and `ray` (a Ray cluster)."""

from runyard.compute.base import (
    ComputeTarget,
    NodeOversubscribedWarning,
    get_compute_target,
    list_compute_targets,
)
from runyard.compute.local import LocalCompute
from runyard.compute.ray import RayCompute, RayProvisioningConfiguration
from runyard.compute.status import ComputeStatus, NodeStateCounts, ScaleSettings

__all__ = ["ComputeStatus", "ComputeTarget", "LocalCompute", "NodeOversubscribedWarning",
           "NodeStateCounts", "RayCompute", "RayProvisioningConfiguration", "ScaleSettings",
           "get_compute_target", "list_compute_targets"]
