"""What AmlCompute and ComputeInstance share: a v1 compute kind made a Ray compute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runyard.compute import RayCompute, get_compute_target
from runyard.errors import ComputeTargetException

if TYPE_CHECKING:
    from runyard.workspace import Workspace


class RayBacked(RayCompute):
    """`Kind(workspace, name)`: the workspace's Ray compute target `name`, as v1's
    `AmlCompute(ws, name)` gets an existing cluster."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        found = get_compute_target(workspace, name)
        if not isinstance(found, RayCompute):
            raise ComputeTargetException(
                f"compute target {name!r} is a {found.type} compute, not a cluster; get it "
                f"with ComputeTarget(workspace, {name!r})", name=name)
        super().__init__(workspace, name, found.config)
