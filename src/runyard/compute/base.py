"""Compute targets: what runs are launched on, found by name in the workspace.

A thin public method does the common work and calls the backend's hook
(`launch` → `_launch`). Types are chosen from a registry whose error lists the known ones.

What a kind of target can run is data (SkyPilot's `CloudImplementationFeatures`): each
target class declares its `capabilities`, a run's needs are a pure function of its
configuration (`needed_capabilities`), and `check_submission` refuses, before any run
exists, a run that needs what its target's type lacks, naming the target, its type and
the capability. Invariant: every target's `check_submission`, the base's or a subclass's
own (which checks what this target's size or setup allows), ends with that check.
"""

from __future__ import annotations

import abc
import builtins
import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from runyard._registry import Registry
from runyard.errors import UnknownComputeTargetError, ValidationError

if TYPE_CHECKING:
    from runyard.compute.status import ComputeStatus
    from runyard.run import Run
    from runyard.workspace import Workspace


class NodeOversubscribedWarning(UserWarning):
    """A run puts more processes on a node than it has CPUs: they share them (v1 did the
    same); the run goes on."""


class Capability(enum.StrEnum):
    """What a run may need that not every kind of compute target gives."""

    #: processes on several nodes (`node_count` > 1)
    MULTI_NODE = "multi-node"
    #: MPI ranks started by an MPI launcher (`MpiConfiguration`)
    MPI = "mpi"
    #: MPI ranks on several nodes, which needs a launcher that reaches every node
    MULTI_NODE_MPI = "multi-node-mpi"
    #: TensorFlow parameter servers (`TensorflowConfiguration(parameter_server_count>0)`),
    #: stopped once the workers have decided the run
    PARAMETER_SERVER = "parameter-server"
    #: a GPU for each process that may use one (`use_gpu=True`)
    GPU = "gpu"


#: What a run that needs a capability its target lacks is told: what it asked for and what
#: to do instead. Filled with the target's `kind` and the run's `nodes` and `servers`.
REFUSALS: Mapping[Capability, str] = {
    Capability.MULTI_NODE:
        "the {kind} compute is one node, and this run asks for {nodes}; run the "
        "processes on one node (process_count_per_node) or submit to a cluster compute "
        "target",
    Capability.MPI:
        "this run asks for MPI (MpiConfiguration) and {kind} computes start no MPI ranks; "
        "use TensorflowConfiguration or PyTorchConfiguration",
    Capability.MULTI_NODE_MPI:
        "this run asks for MPI ranks on {nodes} nodes and {kind} computes start MPI on "
        "one node only; run the ranks on one node (process_count_per_node), or use "
        "TensorflowConfiguration / PyTorchConfiguration",
    Capability.PARAMETER_SERVER:
        "this run asks for {servers} parameter server(s) and {kind} computes run none; "
        "use parameter_server_count=0 (MultiWorkerMirroredStrategy)",
    Capability.GPU:
        "use_gpu=True and {kind} computes give runs no GPU; submit with use_gpu=False",
}


def _counts(config: Mapping[str, Any]) -> tuple[int, str | None, int]:
    distributed = config.get("distributed") or {}
    nodes = int(distributed.get("node_count") or 1)
    framework = distributed.get("framework")
    servers = int(distributed.get("parameter_server_count") or 0) \
        if framework == "tensorflow" else 0
    return nodes, framework, servers


def needed_capabilities(config: Mapping[str, Any]) -> frozenset[Capability]:
    """What a run with this configuration (a RunSpec's JSON: `distributed`, `estimator`)
    needs of its compute target."""
    nodes, framework, servers = _counts(config)
    needed = set()
    if nodes > 1:
        needed.add(Capability.MULTI_NODE)
    if framework == "mpi":
        needed.add(Capability.MPI)
        if nodes > 1:
            needed.add(Capability.MULTI_NODE_MPI)
    if servers > 0:
        needed.add(Capability.PARAMETER_SERVER)
    if (config.get("estimator") or {}).get("use_gpu"):
        needed.add(Capability.GPU)
    return frozenset(needed)


class ComputeTarget(abc.ABC):
    """A named place runs go to."""

    type: ClassVar[str]
    #: its executor, "module:Class" (a runyard.compute.executor.Executor), imported when
    #: a run starts on it
    executor: ClassVar[str]
    #: what runs on this type of target may use; a run needing anything else is refused
    #: at submit (a target that declares none runs single-node runs without GPUs)
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("check_submission")
        if own is not None:  # the target's own checks, then the capability check
            cls.check_submission = _then_capabilities(own)  # type: ignore[method-assign,assignment]

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
        cls = COMPUTES.get(kind) if isinstance(kind, str) and kind in COMPUTES else None
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

    def check_submission(self, config: dict[str, Any]) -> None:
        """Raise now what this target could never run (called by submit, before any run).

        A target adds its own checks (what its size or setup allows) by overriding this;
        the capability check (`check_capabilities`) runs after them in any case."""
        self.check_capabilities(config)

    def check_capabilities(self, config: Mapping[str, Any]) -> None:
        """Refuse a run that needs a capability this target's type does not declare."""
        missing = [c for c in Capability
                   if c in needed_capabilities(config) and c not in self.capabilities]
        if not missing:
            return
        nodes, _, servers = _counts(config)
        names = ", ".join(c.value for c in missing)
        reason = REFUSALS[missing[0]].format(kind=self.type, nodes=nodes, servers=servers)
        raise ValidationError(
            f"compute target {self.name!r} (type {self.type}) lacks {names}, which this run "
            f"needs: {reason}", name=self.name, type=self.type,
            missing=[c.value for c in missing])

    def launch(self, run_id: str) -> None:
        """Hand a run (NotStarted, snapshot taken) to this target; returns at once."""
        self._launch(run_id)

    @abc.abstractmethod
    def _launch(self, run_id: str) -> None: ...

    def supervisor_pending(self, run_id: str) -> bool:  # noqa: ARG002 - a hook
        """Whether run `run_id`'s supervisor is still to start because this target holds
        its launch (a Ray job Ray keeps pending): readers then do not fail the run for
        having no supervisor (`runyard.run.reconcile`)."""
        return False

    # -- v1's state and status ------------------------------------------------------------
    @property
    def provisioning_state(self) -> str:
        """v1's provisioning state: Creating, Succeeded, Failed (or Stopped, for a
        compute instance whose node was stopped)."""
        return str(self.config.get("provisioning_state") or "Succeeded")

    @property
    def provisioning_errors(self) -> builtins.list[dict[str, Any]] | None:
        errors = self.config.get("provisioning_errors")
        return list(errors) if errors else None

    def get_status(self) -> Any:
        """The target's status (v1's AmlComputeStatus: provisioning_state,
        current_node_count, node_state_counts, errors, ..., and `serialize()`); a v1
        ComputeInstance gives v1's ComputeInstanceStatus instead."""
        return self.compute_status()

    def compute_status(self) -> ComputeStatus:
        """The target's status as a `ComputeStatus` (what `get_status` gives, but for
        every kind of target)."""
        from runyard.compute.status import ComputeStatus, NodeStateCounts, from_timestamp

        row = self.workspace.store.get_compute_target(self.name) or {}
        busy = next(self.get_active_runs(), None) is not None
        counts = NodeStateCounts(idle_node_count=0 if busy else 1,
                                 running_node_count=1 if busy else 0)
        return ComputeStatus(
            allocation_state="Steady", creation_time=from_timestamp(row.get("created_at")),
            current_node_count=1, node_state_counts=counts,
            provisioning_state=self.provisioning_state, target_node_count=1,
            name=self.name, type=self.type,
            nodes=[{"node_id": "local", "address": "127.0.0.1",
                    "status": "RUNNING" if busy else "IDLE"}])

    def describe(self) -> dict[str, Any]:
        """What `runyard compute show` prints: the status as plain snake_case values."""
        return self.compute_status().details()

    def list_nodes(self) -> builtins.list[dict[str, Any]]:
        """v1's node listing: nodeId, privateIpAddress, publicIpAddress, port, nodeState,
        runId (None here), with runyard's `resources` (total) and `used`."""
        from runyard.compute.status import node_state

        return [{"nodeId": node.get("node_id"), "privateIpAddress": node.get("address"),
                 "publicIpAddress": None, "port": None, "nodeState": node_state(node),
                 "runId": None, "resources": node.get("total", {}),
                 "used": node.get("used", {})}
                for node in self.compute_status().nodes]

    def refresh_state(self) -> None:
        """Read the target's settings and state again from the workspace (another process
        may have changed them)."""
        row = self.workspace.store.get_compute_target(self.name)
        if row is None:
            raise UnknownComputeTargetError(f"compute target {self.name!r} was deleted",
                                            name=self.name)
        self.config = dict(row["config"])

    def get_active_runs(self, type: str | None = None,
                        tags: Mapping[str, str | None] | str | None = None,
                        properties: Mapping[str, str] | None = None,
                        status: str | None = None) -> Iterator[Run]:
        """The runs on this target that have not ended, newest first; `status`
        ("Running", "Queued", ...), `tags`, `properties` and `type` narrow them."""
        from runyard import _status
        from runyard.experiment import Experiment
        from runyard.run import Run, _matches

        tag_filter = {tags: None} if isinstance(tags, str) else tags
        for row in self.workspace.store.list_runs(status=status):
            if row["status"] not in _status.ACTIVE or row.get("compute_target") != self.name:
                continue
            run = Run(Experiment(self.workspace, row["experiment"]), row["id"])
            if _matches(run, row, tag_filter, properties, type, None):
                yield run

    def serialize(self) -> dict[str, Any]:
        """v1's JSON form of the target (id, name, properties with computeType,
        provisioningState and the status), with runyard's type and settings, which
        `deserialize` reads back."""
        status = self.compute_status()
        scale = status.scale_settings.serialize() if status.scale_settings else None
        return {"id": self.name, "name": self.name, "location": None, "tags": None,
                "properties": {
                    "computeType": str(self.config.get("compute_type") or self.type),
                    "description": None, "resourceId": None,
                    "provisioningState": self.provisioning_state,
                    "provisioningErrors": self.provisioning_errors,
                    "properties": {"vmSize": status.vm_size, "vmPriority": status.vm_priority,
                                   "scaleSettings": scale},
                    "status": status.serialize(),
                    "runyard": {"type": self.type, "config": self.config}}}

    @classmethod
    def deserialize(cls, workspace: Workspace, object_dict: dict[str, Any]) -> ComputeTarget:
        """The target `serialize()` described, in `workspace` (not saved: as in v1, an
        object made from JSON)."""
        from runyard.errors import ComputeTargetException

        runyard = ((object_dict or {}).get("properties") or {}).get("runyard") \
            if isinstance(object_dict, dict) else None
        if not isinstance(runyard, dict) or "type" not in runyard or \
                not isinstance(object_dict.get("name"), str):
            raise ComputeTargetException(
                f"not a serialized runyard compute target (it needs name and "
                f"properties.runyard.type/config, as serialize() writes): {object_dict!r}"[:400])
        found = COMPUTES.get(runyard["type"]) if runyard["type"] in COMPUTES else None
        if found is None or (cls is not ComputeTarget and not issubclass(found, cls)
                             and not issubclass(cls, found)):
            raise ComputeTargetException(
                f"compute target {object_dict['name']!r} is of type {runyard['type']!r}, "
                f"which {cls.__name__}.deserialize cannot make")
        made_as = cls if cls is not ComputeTarget and issubclass(cls, found) else found
        target = object.__new__(made_as)
        ComputeTarget.__init__(target, workspace, object_dict["name"],
                               dict(runyard.get("config") or {}))
        return target

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[ComputeTarget]:
        """Every compute target of the workspace ('local' included), as
        `ws.compute_targets` has them."""
        return list_compute_targets(workspace)

    @staticmethod
    def attach(workspace: Workspace, name: str, attach_configuration: Any) -> Any:
        """Attach an existing cluster: `attach_configuration` is
        `RayCompute.provisioning_configuration(address="http://head:8265")`, the Ray
        dashboard's address."""
        from runyard.errors import ComputeTargetException

        if getattr(attach_configuration, "address", None) is None and \
                not getattr(attach_configuration, "attaches", False):  # Slurm's has none
            raise ComputeTargetException(
                f"attach takes a configuration with the address of an existing cluster, "
                f"RayCompute.provisioning_configuration(address='http://HEAD:8265'); got "
                f"{type(attach_configuration).__name__} without one (to make a cluster, "
                f"use ComputeTarget.create)", name=name)
        return ComputeTarget.create(workspace, name, attach_configuration)

    def detach(self) -> None:
        """Forget an attached cluster (nothing on it is stopped); a target this workspace
        made is deleted with `delete()` instead, as in v1."""
        from runyard.errors import ComputeTargetException

        raise ComputeTargetException(
            f"detach is not supported for the {self.type} compute {self.name!r}, which was "
            f"not attached; use delete() instead", name=self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _then_capabilities(check: Callable[[ComputeTarget, dict[str, Any]], None],
                       ) -> Callable[[ComputeTarget, dict[str, Any]], None]:
    """A target's own `check_submission`, followed by the capability check."""

    @functools.wraps(check)
    def check_submission(self: ComputeTarget, config: dict[str, Any]) -> None:
        check(self, config)
        self.check_capabilities(config)

    return check_submission


#: compute target classes by type name; each class names its executor (`executor`).
#: Plugins: the `runyard.computes` entry-point group.
COMPUTES: Registry[ComputeTarget] = Registry(
    "runyard.computes",
    {"local": "runyard.compute.local:LocalCompute",
     "ray": "runyard.compute.ray:RayCompute",
     "slurm": "runyard.compute.slurm:SlurmCompute"},
    lambda kind, valid: UnknownComputeTargetError(
        f"no compute type {kind!r}; known types: {', '.join(valid)}", valid=valid))


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
    if row["type"] not in COMPUTES:
        raise UnknownComputeTargetError(
            f"compute target {name!r} has type {row['type']!r}, which this version of "
            f"runyard cannot run; known types: {', '.join(COMPUTES.names())}", name=name)
    cls = COMPUTES.get(row["type"])
    return cls(workspace, name, dict(row["config"]))


def list_compute_targets(workspace: Workspace) -> list[ComputeTarget]:
    _ensure_local(workspace)
    return [get_compute_target(workspace, row["name"])
            for row in workspace.store.list_compute_targets()]
