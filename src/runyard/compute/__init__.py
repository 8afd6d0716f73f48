"""Compute targets: `local` (this machine) and `ray` (a Ray cluster)."""

from runyard.compute.base import ComputeTarget, get_compute_target, list_compute_targets
from runyard.compute.local import LocalCompute
from runyard.compute.ray import RayCompute, RayProvisioningConfiguration

__all__ = ["ComputeTarget", "LocalCompute", "RayCompute", "RayProvisioningConfiguration",
           "get_compute_target", "list_compute_targets"]
