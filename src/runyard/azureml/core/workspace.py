"""`azureml.core.workspace`: v1's Workspace on a runyard workspace folder.

A runyard workspace is a folder with `.runyard/config.json`; it has no subscription,
resource group or region. `Workspace.from_config()` finds it from the current folder up,
`Workspace.create(name)` makes one here, and `Workspace(subscription_id, resource_group,
workspace_name)` / `Workspace.get(name)` find the one named `workspace_name` from the
current folder up. The Azure-only arguments are ignored with one warning line.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from runyard.azureml._ignored import warn_ignored
from runyard.azureml._surface import module_getattr, v1_members
from runyard.errors import WorkspaceNotFoundError
from runyard.workspace import Workspace as _Workspace

if TYPE_CHECKING:
    from runyard.run import Run

_LOCAL = "local"
WORKSPACE_DEFAULT_BLOB_STORE_NAME = "workspaceblobstore"
_INIT_DEFAULTS = {"subscription_id": None, "resource_group": None, "auth": None,
                  "_location": None, "_disable_service_check": False, "_workspace_id": None,
                  "sku": "basic", "tags": None, "_cloud": "AzureCloud"}
_GET_DEFAULTS = {"auth": None, "subscription_id": None, "resource_group": None,
                 "location": None, "cloud": "AzureCloud", "id": None}
_CREATE_DEFAULTS = {
    "auth": None, "subscription_id": None, "resource_group": None, "location": None,
    "create_resource_group": True, "sku": "basic", "tags": None, "friendly_name": None,
    "storage_account": None, "key_vault": None, "app_insights": None,
    "container_registry": None, "adb_workspace": None, "primary_user_assigned_identity": None,
    "cmk_keyvault": None, "resource_cmk_uri": None, "hbi_workspace": False,
    "default_cpu_compute_target": None, "default_gpu_compute_target": None,
    "private_endpoint_config": None, "private_endpoint_auto_approval": True,
    "user_assigned_identity_for_cmk_encryption": None,
    "system_datastores_auth_mode": "accessKey", "v1_legacy_mode": None}


class _DefaultCluster:
    """v1's `Workspace.DEFAULT_CPU_CLUSTER_CONFIGURATION`: made on first read, so that
    importing the workspace loads no compute module."""

    def __init__(self, vm_size: str) -> None:
        self.vm_size = vm_size

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        from runyard.azureml.core.compute import AmlCompute

        return AmlCompute.provisioning_configuration(
            min_nodes=0, max_nodes=2, vm_size=self.vm_size, vm_priority="dedicated")


@v1_members("azureml.core.workspace.Workspace")
class Workspace(_Workspace):
    """v1's Workspace: a runyard workspace (a folder), with v1's constructors.

    Example:
        >>> ws = Workspace.from_config()   # .runyard/config.json here or above  # doctest: +SKIP
        >>> ws = Workspace.create("tf-mnist", exist_ok=True)                       # doctest: +SKIP
    """

    DEFAULT_CPU_CLUSTER_NAME = "cpu-cluster"
    DEFAULT_GPU_CLUSTER_NAME = "gpu-cluster"
    DEFAULT_CPU_CLUSTER_CONFIGURATION = _DefaultCluster("STANDARD_DS2_V2")
    DEFAULT_GPU_CLUSTER_CONFIGURATION = _DefaultCluster("STANDARD_NC6")

    def __init__(self, subscription_id: str | None, resource_group: str | None,
                 workspace_name: str, auth: Any = None, _location: str | None = None,
                 _disable_service_check: bool = False, _workspace_id: str | None = None,
                 sku: str = "basic", tags: dict[str, str] | None = None,
                 _cloud: str = "AzureCloud") -> None:
        warn_ignored("Workspace", locals(), _INIT_DEFAULTS)
        found = _named(workspace_name)
        super().__init__(found.name, found.path, store_url=found._store_url,
                         artifact_url=found._artifact_url)

    @classmethod
    def _adopt(cls, found: _Workspace) -> Workspace:
        workspace = cls.__new__(cls)
        _Workspace.__init__(workspace, found.name, found.path, store_url=found._store_url,
                            artifact_url=found._artifact_url)
        return workspace

    # v1's signatures, not runyard's (hence the ignores): the mirror follows azureml-core
    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None,  # type: ignore[override]
                    auth: Any = None, _logger: Any = None,
                    _file_name: str | None = None) -> Workspace:
        """The workspace whose `.runyard/config.json` is in `path` (default: the current
        folder) or a folder above it; `path` may name the config file. A v1 `config.json`
        (subscription, resource group) is not a runyard workspace: `runyard init` makes one."""
        return cls._adopt(_Workspace.from_config(path))

    @classmethod
    def get(cls, name: str, auth: Any = None, subscription_id: str | None = None,
            resource_group: str | None = None, location: str | None = None,
            cloud: str = "AzureCloud", id: str | None = None) -> Workspace:
        """The workspace named `name`, found from the current folder up."""
        warn_ignored("Workspace.get", locals(), _GET_DEFAULTS)
        return cls._adopt(_named(name))

    @classmethod
    def create(cls, name: str, auth: Any = None,  # type: ignore[override]
               subscription_id: str | None = None, resource_group: str | None = None,
               location: str | None = None, create_resource_group: bool = True,
               sku: str = "basic", tags: dict[str, str] | None = None,
               friendly_name: str | None = None, storage_account: str | None = None,
               key_vault: str | None = None, app_insights: str | None = None,
               container_registry: str | None = None, adb_workspace: str | None = None,
               primary_user_assigned_identity: str | None = None,
               cmk_keyvault: str | None = None, resource_cmk_uri: str | None = None,
               hbi_workspace: bool = False, default_cpu_compute_target: Any = None,
               default_gpu_compute_target: Any = None, private_endpoint_config: Any = None,
               private_endpoint_auto_approval: bool = True, exist_ok: bool = False,
               show_output: bool = True,
               user_assigned_identity_for_cmk_encryption: str | None = None,
               system_datastores_auth_mode: str = "accessKey",
               v1_legacy_mode: bool | None = None) -> Workspace:
        """A workspace in the current folder (writes `.runyard/config.json`); with
        `exist_ok=True` the one already there."""
        warn_ignored("Workspace.create", locals(), _CREATE_DEFAULTS)
        return cls._adopt(_Workspace.create(name, path=".", exist_ok=exist_ok))

    # -- what v1 notebooks print -----------------------------------------------------------
    @property
    def subscription_id(self) -> str:
        """Always "local": a runyard workspace belongs to no Azure subscription."""
        return _LOCAL

    @property
    def resource_group(self) -> str:
        """Always "local": a runyard workspace belongs to no resource group."""
        return _LOCAL

    @property
    def location(self) -> str:
        """Always "local": a runyard workspace lives in its folder."""
        return _LOCAL

    def get_run(self, run_id: str) -> Run:
        """The run `run_id` of any experiment of this workspace."""
        from runyard.run import Run

        return Run.get(self, run_id)


def _named(name: str) -> _Workspace:
    """The workspace found from the current folder up, if it is named `name`."""
    found = _Workspace.from_config()
    if found.name != name:
        raise WorkspaceNotFoundError(
            f"the workspace found from {os.getcwd()} is {found.name!r} (at {found.path}), not "
            f"{name!r}; runyard finds a workspace by its folder: run this from the folder of "
            f"workspace {name!r}, or use Workspace.from_config(path)", path=str(found.path))
    return found


__getattr__ = module_getattr(__name__)

__all__ = ["WORKSPACE_DEFAULT_BLOB_STORE_NAME", "Workspace"]
