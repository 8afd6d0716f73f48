"""Compute targets: `local` (this machine) now; a Ray cluster later."""

from runyard.compute.base import ComputeTarget, get_compute_target, list_compute_targets
from runyard.compute.local import LocalCompute

__all__ = ["ComputeTarget", "LocalCompute", "get_compute_target", "list_compute_targets"]
