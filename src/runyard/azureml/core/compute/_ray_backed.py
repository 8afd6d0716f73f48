"""What AmlCompute and ComputeInstance share: a v1 compute kind made a Ray compute."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

    def get(self) -> dict[str, Any]:
        """v1's `get()`: the target as the service describes it, read afresh (the
        `serialize()` form)."""
        return type(self)(self.workspace, self.name).serialize()

    @staticmethod
    def supported_vmsizes(workspace: Workspace, location: str | None = None,
                          ) -> list[dict[str, Any]]:
        """The Azure sizes runyard knows, with their vCPUs, memory and GPUs."""
        from runyard.compute._vm_sizes import VM_SIZES

        return [{"name": name, "vCPUs": cpus, "memoryGB": memory, "gpus": gpus,
                 "gpuModel": model or None}
                for name, (cpus, memory, gpus, model) in sorted(VM_SIZES.items())]
