"""Compute targets: `local` (this machine), `ray` (a Ray cluster) and `slurm` (a Slurm
cluster)."""

from runyard.compute.base import (
    ComputeTarget,
    NodeOversubscribedWarning,
    get_compute_target,
    list_compute_targets,
)
from runyard.compute.local import LocalCompute
from runyard.compute.ray import RayCompute, RayProvisioningConfiguration
from runyard.compute.slurm import SlurmCompute
from runyard.compute.status import ComputeStatus, NodeStateCounts, ScaleSettings

__all__ = ["ComputeStatus", "ComputeTarget", "LocalCompute", "NodeOversubscribedWarning",
           "NodeStateCounts", "RayCompute", "RayProvisioningConfiguration", "ScaleSettings",
           "SlurmCompute",
           "get_compute_target", "list_compute_targets"]
