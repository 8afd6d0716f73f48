"""`azureml.core.compute.amlcompute`: v1's managed training cluster, here a Ray cluster.

`AmlCompute.provisioning_configuration(vm_size=..., max_nodes=...)` takes v1's arguments and
returns `RayCompute.provisioning_configuration(...)`: `vm_size` becomes each node's
resources (CPUs, memory, GPUs) through runyard's table of Azure sizes, `min_nodes`,
`max_nodes`, `idle_seconds_before_scaledown` and `vm_priority` keep their meaning, and the
Azure-only arguments (accounts, networks, identities, location) are ignored with one
warning line. `ComputeTarget.create(ws, name, config)` then makes the cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.azureml._ignored import warn_ignored
from runyard.azureml.core.compute._ray_backed import RayBacked
from runyard.compute import RayCompute, RayProvisioningConfiguration

if TYPE_CHECKING:
    from runyard.workspace import Workspace

DEFAULT_VM_SIZE = "STANDARD_NC6"  # v1: "If not specified, defaults to Standard_NC6"
DEFAULT_MAX_NODES = 4             # v1: "If not specified, defaults to 4"
_IGNORED = {"admin_username": None, "admin_user_password": None, "admin_user_ssh_key": None,
            "vnet_resourcegroup_name": None, "vnet_name": None, "subnet_name": None,
            "tags": None, "description": None,
            "remote_login_port_public_access": "NotSpecified", "identity_type": None,
            "identity_id": None, "location": None, "enable_node_public_ip": True}


class AmlCompute(RayBacked):
    """v1's AmlCompute: a Ray compute whose nodes have the resources of an Azure VM size.

    Example:
        >>> config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2",
        ...                                                max_nodes=4)
        >>> config.resources
        {'CPU': 2, 'GPU': 0, 'memory_gib': 7}
        >>> cluster = ComputeTarget.create(ws, "cpu-cluster", config)   # doctest: +SKIP
    """

    # v1's signature, not RayCompute's (hence the ignore): the mirror follows azureml-core
    @staticmethod
    def provisioning_configuration(  # type: ignore[override]
            vm_size: str = "", vm_priority: str = "dedicated", min_nodes: int = 0,
            max_nodes: int | None = None, idle_seconds_before_scaledown: int | None = 1800,
            admin_username: str | None = None, admin_user_password: str | None = None,
            admin_user_ssh_key: str | None = None, vnet_resourcegroup_name: str | None = None,
            vnet_name: str | None = None, subnet_name: str | None = None,
            tags: dict[str, str] | None = None, description: str | None = None,
            remote_login_port_public_access: str = "NotSpecified",
            identity_type: str | None = None, identity_id: list[str] | None = None,
            location: str | None = None, enable_node_public_ip: bool = True,
    ) -> RayProvisioningConfiguration:
        """A Ray cluster of `max_nodes` (default 4) nodes of `vm_size` (default
        STANDARD_NC6, as in v1); an unknown size is an error listing the known ones."""
        warn_ignored("AmlCompute.provisioning_configuration", locals(), _IGNORED)
        return RayCompute.provisioning_configuration(
            min_nodes=min_nodes,
            max_nodes=DEFAULT_MAX_NODES if max_nodes is None else max_nodes,
            vm_size=vm_size or DEFAULT_VM_SIZE,
            idle_seconds_before_scaledown=(1800 if idle_seconds_before_scaledown is None
                                           else idle_seconds_before_scaledown),
            vm_priority=vm_priority)

    @staticmethod
    def supported_vmsizes(workspace: Workspace, location: str | None = None,
                          ) -> list[dict[str, Any]]:
        """The Azure sizes runyard knows, with their vCPUs, memory and GPUs."""
        from runyard.compute._vm_sizes import VM_SIZES

        return [{"name": name, "vCPUs": cpus, "memoryGB": memory, "gpus": gpus,
                 "gpuModel": model or None}
                for name, (cpus, memory, gpus, model) in sorted(VM_SIZES.items())]


__all__ = ["AmlCompute"]
