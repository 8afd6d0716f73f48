"""Compute targets: what runs are launched on, found by name in the workspace.

A thin public method does the common work and calls the backend's hook
(`launch` → `_launch`). Types are chosen from a registry whose error lists the known ones.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

from runyard.errors import UnknownComputeTargetError

if TYPE_CHECKING:
    from runyard.workspace import Workspace


class ComputeTarget(abc.ABC):
    """A named place runs go to."""

    type: ClassVar[str]

    def __new__(cls, workspace: Workspace, name: str,
                config: dict[str, Any] | None = None) -> ComputeTarget:
        if cls is ComputeTarget:  # `ComputeTarget(ws, "local")`: look it up, as in v1
            return get_compute_target(workspace, name)
        return super().__new__(cls)

    def __init__(self, workspace: Workspace, name: str,
                 config: dict[str, Any] | None = None) -> None:
        if config is None and hasattr(self, "config"):
            return  # found by __new__, already set up
        self.workspace = workspace
        self.name = name
        self.config = config if config is not None else {}

    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> Any:
        """Create compute target `name` from a provisioning configuration (for example
        `RayCompute.provisioning_configuration(...)`); returns it at once, still starting:
        `wait_for_completion` waits for it."""
        from runyard._validation import checked_name
        from runyard.errors import ComputeTargetException

        checked_name(name, what="compute target name", first_alnum=True)
        if name == "local" or workspace.store.get_compute_target(name) is not None:
            raise ComputeTargetException(
                f"compute target {name!r} exists already; get it with "
                f"ComputeTarget(workspace, {name!r}) or delete it first", name=name)
        kind = getattr(provisioning_configuration, "target_type", None)
        cls = _types().get(kind) if isinstance(kind, str) else None
        create = getattr(cls, "_create", None)
        if create is None:
            raise ComputeTargetException(
                f"cannot create a compute target from a "
                f"{type(provisioning_configuration).__name__}; give a provisioning "
                f"configuration such as RayCompute.provisioning_configuration(...)", name=name)
        return create(workspace, name, provisioning_configuration)

    def wait_for_completion(self, show_output: bool = False,  # noqa: B027 - nothing to wait
                            min_node_count: int | None = None,
                            timeout_in_minutes: float = 20,
                            is_delete_operation: bool = False) -> None:
        """Wait until the target is ready (the local compute always is)."""

    def delete(self) -> None:
        from runyard.errors import ComputeTargetException

        raise ComputeTargetException(f"the {self.type} compute {self.name!r} cannot be "
                                     f"deleted", name=self.name)

    def check_submission(self, config: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Raise now what this target could never run (called by submit, before any run)."""

    def launch(self, run_id: str) -> None:
        """Hand a run (NotStarted, snapshot taken) to this target; returns at once."""
        self._launch(run_id)

    @abc.abstractmethod
    def _launch(self, run_id: str) -> None: ...

    def get_status(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, **self.config}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _types() -> dict[str, type[ComputeTarget]]:
    from runyard.compute.local import LocalCompute
    from runyard.compute.ray import RayCompute

    return {LocalCompute.type: LocalCompute, RayCompute.type: RayCompute}


def _ensure_local(workspace: Workspace) -> None:
    from runyard.compute.local import LocalCompute

    if workspace.store.get_compute_target("local") is None:
        workspace.store.put_compute_target("local", LocalCompute.type,
                                           LocalCompute.default_config())


def get_compute_target(workspace: Workspace, target: str | ComputeTarget | None) -> ComputeTarget:
    """The compute target `target` names (None and "local" mean this machine)."""
    if isinstance(target, ComputeTarget):
        return target
    name = "local" if target in (None, "local", "amlcompute-local") else target
    if not isinstance(name, str):
        raise UnknownComputeTargetError(
            f"compute_target must be a name or a ComputeTarget, got {type(name).__name__}",
            name=name)
    if name == "local":
        _ensure_local(workspace)
    row = workspace.store.get_compute_target(name)
    if row is None:
        known = sorted({"local", *(r["name"] for r in workspace.store.list_compute_targets())})
        raise UnknownComputeTargetError(
            f"unknown compute target {name!r}; this workspace has: {', '.join(known)}",
            name=name, valid=known)
    cls = _types().get(row["type"])
    if cls is None:
        raise UnknownComputeTargetError(
            f"compute target {name!r} has type {row['type']!r}, which this version of "
            f"runyard cannot run; known types: {', '.join(_types())}", name=name)
    return cls(workspace, name, dict(row["config"]))


def list_compute_targets(workspace: Workspace) -> list[ComputeTarget]:
    _ensure_local(workspace)
    return [get_compute_target(workspace, row["name"])
            for row in workspace.store.list_compute_targets()]
