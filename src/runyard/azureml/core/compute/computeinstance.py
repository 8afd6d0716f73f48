"""`azureml.core.compute.computeinstance`: v1's single development VM, here a Ray compute of
exactly one node with the resources of its Azure VM size.

`get_status()` gives v1's `ComputeInstanceStatus` (state Running, Stopped, Creating or
Failed). `stop()` stops the node (refused while runs are active on it), `start()` starts it
again (a fresh Ray head, as a VM boots afresh) and `restart()` does both; on an attached
cluster, which runyard does not run, they are refused.
"""

from __future__ import annotations

import datetime
import getpass
from dataclasses import dataclass
from typing import Any

from runyard.azureml._ignored import warn_ignored
from runyard.azureml._surface import module_getattr, v1_members
from runyard.azureml.core.compute._ray_backed import RayBacked
from runyard.compute import RayProvisioningConfiguration
from runyard.compute.status import from_timestamp
from runyard.errors import ComputeTargetException

DEFAULT_VM_SIZE = "STANDARD_DS3_V2"  # v1's default for a compute instance
_IGNORED = {"ssh_public_access": False, "admin_user_ssh_public_key": None,
            "vnet_resourcegroup_name": None, "vnet_name": None, "subnet_name": None,
            "tags": None, "description": None, "assigned_user_object_id": None,
            "assigned_user_tenant_id": None}


class ComputeInstanceProvisioningConfiguration(RayProvisioningConfiguration):
    """One node of `vm_size` (default STANDARD_DS3_V2, as in v1); the Azure-only arguments
    are ignored with one warning line."""

    compute_type = "ComputeInstance"

    def __init__(self, vm_size: str = "", ssh_public_access: bool = False,
                 admin_user_ssh_public_key: str | None = None,
                 vnet_resourcegroup_name: str | None = None, vnet_name: str | None = None,
                 subnet_name: str | None = None, tags: dict[str, str] | None = None,
                 description: str | None = None, assigned_user_object_id: str | None = None,
                 assigned_user_tenant_id: str | None = None) -> None:
        warn_ignored("ComputeInstanceProvisioningConfiguration", locals(), _IGNORED)
        super().__init__(min_nodes=1, max_nodes=1, vm_size=vm_size or DEFAULT_VM_SIZE)

    def validate_configuration(self) -> None:
        """Check the settings again (after changing an attribute), as at construction."""
        self.__post_init__()


@dataclass
class ComputeInstanceStatus:
    """v1's status of a compute instance: its state and when it was made."""

    creation_time: datetime.datetime | None
    created_by_user_name: str | None
    created_by_user_id: str | None
    created_by_user_org: str | None
    errors: list[dict[str, Any]] | None
    modified_time: datetime.datetime | None
    state: str | None
    vm_size: str | None

    def serialize(self) -> dict[str, Any]:
        return {"errors": self.errors,
                "creationTime": self.creation_time.isoformat() if self.creation_time else None,
                "createdBy": {"userObjectId": self.created_by_user_id,
                              "userTenantId": self.created_by_user_org,
                              "userName": self.created_by_user_name},
                "modifiedTime": self.modified_time.isoformat() if self.modified_time else None,
                "state": self.state, "vmSize": self.vm_size}

    @staticmethod
    def deserialize(object_dict: dict[str, Any] | None) -> ComputeInstanceStatus | None:
        if not object_dict:
            return None
        created = object_dict.get("createdBy") or {}

        def when(key: str) -> datetime.datetime | None:
            value = object_dict.get(key)
            return datetime.datetime.fromisoformat(value) if value else None

        return ComputeInstanceStatus(when("creationTime"), created.get("userName"),
                                     created.get("userObjectId"), created.get("userTenantId"),
                                     object_dict.get("errors"), when("modifiedTime"),
                                     object_dict.get("state"), object_dict.get("vmSize"))


@v1_members("azureml.core.compute.computeinstance.ComputeInstance")
class ComputeInstance(RayBacked):
    """v1's ComputeInstance: one node of `vm_size`, up while it exists and is not stopped."""

    # v1's signature, not RayCompute's (hence the ignore): the mirror follows azureml-core
    @staticmethod
    def provisioning_configuration(  # type: ignore[override]
            vm_size: str = "", ssh_public_access: bool = False,
            admin_user_ssh_public_key: str | None = None,
            vnet_resourcegroup_name: str | None = None, vnet_name: str | None = None,
            subnet_name: str | None = None, tags: dict[str, str] | None = None,
            description: str | None = None, assigned_user_object_id: str | None = None,
            assigned_user_tenant_id: str | None = None,
    ) -> ComputeInstanceProvisioningConfiguration:
        """One node of `vm_size` (default STANDARD_DS3_V2, as in v1)."""
        warn_ignored("ComputeInstance.provisioning_configuration", locals(), _IGNORED)
        return ComputeInstanceProvisioningConfiguration(vm_size)

    @classmethod
    def get_docs_url(cls) -> str:
        """Where runyard documents the Ray compute behind a compute instance."""
        return "docs/ray.md"

    def get_status(self) -> ComputeInstanceStatus:  # type: ignore[override]
        """v1's ComputeInstanceStatus: state Running (its node is up), Stopped, Creating
        or Failed; errors say why the node cannot be reached."""
        cluster = self.compute_status()
        state = self.provisioning_state
        if state == "Succeeded":
            state = "Running" if cluster.current_node_count else "Unusable"
        row = self.workspace.store.get_compute_target(self.name) or {}
        return ComputeInstanceStatus(from_timestamp(row.get("created_at")), getpass.getuser(),
                                     None, None, cluster.errors, cluster.modified_time, state,
                                     self.vm_size)

    def describe(self) -> dict[str, Any]:
        shown = super().describe()
        shown["state"] = self.get_status().state
        return shown

    def delete(self, wait_for_completion: bool = False, show_output: bool = False) -> None:
        """Stop the node and forget the instance (done when this returns)."""
        super().delete()

    def _owned_or_refuse(self, verb: str) -> None:
        if not self.owned:
            raise ComputeTargetException(
                f"compute instance {self.name!r} is an attached Ray cluster that runyard does "
                f"not run, so it cannot {verb} it; {verb} the cluster with Ray's own tools",
                name=self.name)

    def stop(self, wait_for_completion: bool = False, show_output: bool = False) -> None:
        """Stop the instance's node; refused while runs are active on it, or when it is
        stopped already. `start()` brings it back."""
        self._owned_or_refuse("stop")
        self.refresh_state()
        if self.provisioning_state == "Stopped":
            raise ComputeTargetException(f"compute instance {self.name!r} is stopped already",
                                         name=self.name)
        active = [run.id for run in self.get_active_runs()]
        if active:
            raise ComputeTargetException(
                f"compute instance {self.name!r} has {len(active)} active run(s): "
                f"{', '.join(active[:5])}; cancel them first", name=self.name)
        with self._locked():
            self._stop_all_nodes()
            self._write_nodes([])
        self._set_state("Stopped")
        if show_output:
            print(f"{self.name}: Stopped", flush=True)

    def start(self, wait_for_completion: bool = False, show_output: bool = False) -> None:
        """Start a stopped instance's node again (with `wait_for_completion`, until it
        takes runs)."""
        self._owned_or_refuse("start")
        self.refresh_state()
        if self.provisioning_state != "Stopped":
            raise ComputeTargetException(
                f"compute instance {self.name!r} is {self.get_status().state}, not Stopped; "
                f"start() starts a stopped instance (restart() restarts a running one)",
                name=self.name)
        self._set_state("Creating")
        try:
            self._start_head()
        except BaseException:
            self._set_state("Failed")
            raise
        if wait_for_completion:
            self.wait_for_completion(show_output=show_output)

    def restart(self, wait_for_completion: bool = False, show_output: bool = False) -> None:
        """Stop and start the instance's node."""
        self._owned_or_refuse("restart")
        self.stop(show_output=show_output)
        self.start(wait_for_completion=wait_for_completion, show_output=show_output)


__getattr__ = module_getattr(__name__)

__all__ = ["ComputeInstance", "ComputeInstanceProvisioningConfiguration",
           "ComputeInstanceStatus"]
