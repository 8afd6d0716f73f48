"""`azureml.core.compute.amlcompute`: v1's managed training cluster, here a Ray cluster.

`AmlCompute.provisioning_configuration(vm_size=..., max_nodes=...)` takes v1's arguments and
returns an `AmlComputeProvisioningConfiguration`, a `RayProvisioningConfiguration`:
`vm_size` becomes each node's resources (CPUs, memory, GPUs) through runyard's table of
Azure sizes, `min_nodes`, `max_nodes`, `idle_seconds_before_scaledown` and `vm_priority`
keep their meaning, and the Azure-only arguments (accounts, networks, identities, location)
are ignored with one warning line. `ComputeTarget.create(ws, name, config)` then makes the
cluster. `get_status()` gives v1's `AmlComputeStatus` (runyard's `ComputeStatus`), with
`AmlComputeNodeStateCounts` and `ScaleSettings`; `update()` changes the scale settings.
"""

from __future__ import annotations

from runyard.azureml._ignored import warn_ignored
from runyard.azureml._surface import module_getattr, v1_members
from runyard.azureml.core.compute._ray_backed import RayBacked
from runyard.compute import RayProvisioningConfiguration
from runyard.compute.status import ComputeStatus, NodeStateCounts, ScaleSettings

DEFAULT_VM_SIZE = "STANDARD_NC6"  # v1: "If not specified, defaults to Standard_NC6"
DEFAULT_MAX_NODES = 4             # v1: "If not specified, defaults to 4"
_AZURE_ONLY = {"admin_username": None, "admin_user_password": None, "admin_user_ssh_key": None,
               "vnet_resourcegroup_name": None, "vnet_name": None, "subnet_name": None,
               "tags": None, "description": None,
               "remote_login_port_public_access": "NotSpecified", "identity_type": None,
               "identity_id": None, "enable_node_public_ip": True}
_IGNORED = {**_AZURE_ONLY, "location": None}
_IGNORED_CONFIG = {**_AZURE_ONLY, "compute_location": None}

AmlComputeStatus = ComputeStatus
AmlComputeNodeStateCounts = NodeStateCounts


class AmlComputeProvisioningConfiguration(RayProvisioningConfiguration):
    """v1's cluster configuration: a Ray cluster of `max_nodes` (default 4) nodes of
    `vm_size` (default STANDARD_NC6, as in v1); an unknown size is an error listing the
    known ones. The Azure-only arguments are ignored with one warning line."""

    compute_type = "AmlCompute"

    def __init__(self, vm_size: str = "", vm_priority: str = "dedicated", min_nodes: int = 0,
                 max_nodes: int | None = None,
                 idle_seconds_before_scaledown: int | None = 1800,
                 admin_username: str | None = None, admin_user_password: str | None = None,
                 admin_user_ssh_key: str | None = None,
                 vnet_resourcegroup_name: str | None = None, vnet_name: str | None = None,
                 subnet_name: str | None = None, tags: dict[str, str] | None = None,
                 description: str | None = None,
                 remote_login_port_public_access: str = "NotSpecified",
                 identity_type: str | None = None, identity_id: list[str] | None = None,
                 compute_location: str | None = None,
                 enable_node_public_ip: bool = True) -> None:
        warn_ignored("AmlComputeProvisioningConfiguration", locals(), _IGNORED_CONFIG)
        super().__init__(
            min_nodes=min_nodes or 0,
            max_nodes=DEFAULT_MAX_NODES if max_nodes is None else max_nodes,
            vm_size=vm_size or DEFAULT_VM_SIZE,
            idle_seconds_before_scaledown=(1800 if idle_seconds_before_scaledown is None
                                           else idle_seconds_before_scaledown),
            vm_priority=vm_priority)

    @property
    def scale_settings(self) -> ScaleSettings:
        return ScaleSettings(self.min_nodes, self.max_nodes, self.idle_seconds_before_scaledown)

    def validate_configuration(self) -> None:
        """Check the settings again (after changing an attribute), as at construction."""
        self.__post_init__()


@v1_members("azureml.core.compute.amlcompute.AmlCompute")
class AmlCompute(RayBacked):
    """v1's AmlCompute: a Ray compute whose nodes have the resources of an Azure VM size.

    Example:
        >>> config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2",
        ...                                                max_nodes=4)
        >>> config.resources
        {'CPU': 2, 'GPU': 0, 'memory_gib': 7}
        >>> cluster = ComputeTarget.create(ws, "cpu-cluster", config)   # doctest: +SKIP
        >>> cluster.get_status().serialize()["scaleSettings"]          # doctest: +SKIP
        {'minNodeCount': 0, 'maxNodeCount': 4, 'nodeIdleTimeBeforeScaleDown': 'PT1800S'}
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
    ) -> AmlComputeProvisioningConfiguration:
        """A Ray cluster of `max_nodes` (default 4) nodes of `vm_size` (default
        STANDARD_NC6, as in v1); an unknown size is an error listing the known ones."""
        warn_ignored("AmlCompute.provisioning_configuration", locals(), _IGNORED)
        return AmlComputeProvisioningConfiguration(
            vm_size, vm_priority, min_nodes, max_nodes, idle_seconds_before_scaledown)


__getattr__ = module_getattr(__name__)

__all__ = ["AmlCompute", "AmlComputeNodeStateCounts", "AmlComputeProvisioningConfiguration",
           "AmlComputeStatus", "ScaleSettings"]
