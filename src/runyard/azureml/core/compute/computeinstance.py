"""`azureml.core.compute.computeinstance`: v1's single development VM, here a Ray compute of
exactly one node with the resources of its Azure VM size."""

from __future__ import annotations

from runyard.azureml._ignored import warn_ignored
from runyard.azureml.core.compute._ray_backed import RayBacked
from runyard.compute import RayCompute, RayProvisioningConfiguration

DEFAULT_VM_SIZE = "STANDARD_DS3_V2"  # v1's default for a compute instance
_IGNORED = {"ssh_public_access": False, "admin_user_ssh_public_key": None,
            "vnet_resourcegroup_name": None, "vnet_name": None, "subnet_name": None,
            "tags": None, "description": None, "assigned_user_object_id": None,
            "assigned_user_tenant_id": None}


class ComputeInstance(RayBacked):
    """v1's ComputeInstance: one node of `vm_size`, always up while it exists."""

    # v1's signature, not RayCompute's (hence the ignore): the mirror follows azureml-core
    @staticmethod
    def provisioning_configuration(  # type: ignore[override]
            vm_size: str = "", ssh_public_access: bool = False,
            admin_user_ssh_public_key: str | None = None,
            vnet_resourcegroup_name: str | None = None, vnet_name: str | None = None,
            subnet_name: str | None = None, tags: dict[str, str] | None = None,
            description: str | None = None, assigned_user_object_id: str | None = None,
            assigned_user_tenant_id: str | None = None) -> RayProvisioningConfiguration:
        """One node of `vm_size` (default STANDARD_DS3_V2, as in v1)."""
        warn_ignored("ComputeInstance.provisioning_configuration", locals(), _IGNORED)
        return RayCompute.provisioning_configuration(min_nodes=1, max_nodes=1,
                                                     vm_size=vm_size or DEFAULT_VM_SIZE)


__all__ = ["ComputeInstance"]
