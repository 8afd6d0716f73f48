"""The `ray` compute: a Ray cluster (Ray 2.60) that runs each run's supervisor as a Ray job.

Two ways to have one:
- owned (no `address`): the workspace starts a Ray head on this machine with token
  authentication, and worker nodes (`ray start --address=...`) as runs need them, up to
  `max_nodes`; nodes idle for `idle_seconds_before_scaledown` beyond `min_nodes` are stopped.
  Every node of an owned cluster runs on this machine, each with its own resources: the way
  to try scale on one machine, and what the tests use. Each node listens on ports of its
  own and the cluster has its own temp folder (`runyard.compute._ray_ports`), so owned
  clusters of several workspaces on one machine never meet.
- attached (`address="http://head:8265"`, the dashboard's address, as `ray job submit`
  takes it): an existing cluster, scaled by its own autoscaler; runyard only submits.

Ray does the scheduling, placement and node management. A run whose plan fits one node
(on an owned cluster with room for it) is a *direct* job: the job's entrypoint resources
hold the node and its supervisor starts the processes itself; any other run's supervisor
asks Ray for a placement group (see `runyard.compute.ray_executor`). Nothing here imports
ray at import time: submitting talks to the Jobs REST API with the standard library.

Three modules: this one, the target (`RayCompute`: configuration, status, what a run asks
of the cluster, submitting the run's supervisor); `_ray_nodes`, an owned cluster's nodes
(starting, scaling, stopping them; their state files); `_ray_jobs`, the Jobs REST client.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from runyard.compute._ray_jobs import SUBMIT_RETRY_SECONDS, JobsClient, attached_token, job_id
from runyard.compute._ray_nodes import (
    RAY_STATE,
    OwnedNodes,
    _bin_path,
    _gcs_nodes,
    _gpus_here,
    _runyard_index,
    gcs_unreachable,
)
from runyard.compute.base import Capability, ComputeTarget, NodeOversubscribedWarning
from runyard.errors import ComputeTargetException, ValidationError

if TYPE_CHECKING:
    from runyard.compute.status import ComputeStatus, ScaleSettings
    from runyard.distributed.plan import Plan
    from runyard.workspace import Workspace

_VM_PRIORITIES = ("dedicated", "lowpriority")


@dataclass
class RayProvisioningConfiguration:
    """What `ComputeTarget.create` makes: see `RayCompute.provisioning_configuration`."""

    address: str | None = None
    min_nodes: int = 0
    max_nodes: int = 4
    vm_size: str | None = None
    node_resources: dict[str, Any] | None = None
    idle_seconds_before_scaledown: int = 1800
    vm_priority: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)  # per node, resolved
    direct_jobs: bool = True  # one node's runs as direct jobs (RayCompute._launch)

    target_type = "ray"
    compute_type: ClassVar[str | None] = None  # v1's kind, for the mirror's configurations

    def __post_init__(self) -> None:
        for name in ("min_nodes", "max_nodes", "idle_seconds_before_scaledown"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"{name} must be a whole number ≥ 0, got {value!r}",
                                      value=value)
        if self.max_nodes < 1:
            raise ValidationError(f"max_nodes must be at least 1, got {self.max_nodes}")
        if self.min_nodes > self.max_nodes:
            raise ValidationError(f"min_nodes ({self.min_nodes}) is more than max_nodes "
                                  f"({self.max_nodes})")
        if self.address is not None and not (
                isinstance(self.address, str)
                and self.address.startswith(("http://", "https://"))):
            raise ValidationError(
                f"address must be the Ray dashboard's URL, as `ray job submit --address` "
                f"takes it (for example 'http://head:8265'), got {self.address!r}")
        if self.vm_priority is not None and self.vm_priority.lower() not in _VM_PRIORITIES:
            raise ValidationError(f"vm_priority must be one of {', '.join(_VM_PRIORITIES)}, "
                                  f"got {self.vm_priority!r}")
        self.resources = _node_resources(self.vm_size, self.node_resources)


def _node_resources(vm_size: str | None, given: dict[str, Any] | None) -> dict[str, Any]:
    """One node's resources: the vm_size's, overridden by `given`; CPU, GPU, memory_gib and
    custom resources (numbers)."""
    from runyard.compute._vm_sizes import node_resources_for

    resources: dict[str, Any] = {"CPU": 1, "GPU": 0}
    if vm_size:
        resources = node_resources_for(vm_size)
    if given is not None:
        if not isinstance(given, dict):
            raise ValidationError(f"node_resources must be a dict such as {{'CPU': 2, 'GPU': 0,"
                                  f" 'memory_gib': 8}}, got {type(given).__name__}")
        for key, value in given.items():
            if not isinstance(key, str) or not isinstance(value, int | float) or \
                    isinstance(value, bool) or value < 0:
                raise ValidationError(f"node_resources[{key!r}] must be a number ≥ 0, got "
                                      f"{value!r}", value=value)
        resources = {**resources, **given}
    if resources.get("CPU", 0) < 1:
        raise ValidationError("a node needs at least 1 CPU (node_resources['CPU'])")
    return resources


class RayCompute(OwnedNodes, ComputeTarget):
    """A Ray cluster. Create one with `ComputeTarget.create(ws, name,
    RayCompute.provisioning_configuration(max_nodes=4))`.

    Example:
        >>> config = RayCompute.provisioning_configuration(max_nodes=2,
        ...                                                 node_resources={"CPU": 2})
        >>> cluster = ComputeTarget.create(ws, "cluster", config)    # doctest: +SKIP
        >>> cluster.wait_for_completion(show_output=True)            # doctest: +SKIP
    """

    type = "ray"
    executor = "runyard.compute.ray_executor:RayExecutor"
    capabilities = frozenset({Capability.MULTI_NODE, Capability.MPI,  # MPI on one node
                              Capability.PARAMETER_SERVER, Capability.GPU})

    @staticmethod
    def provisioning_configuration(address: str | None = None, min_nodes: int = 0,
                                   max_nodes: int = 4, vm_size: str | None = None,
                                   node_resources: dict[str, Any] | None = None,
                                   idle_seconds_before_scaledown: int = 1800,
                                   vm_priority: str | None = None,
                                   direct_jobs: bool = True,
                                   ) -> RayProvisioningConfiguration:
        """The cluster to create: attach to `address` (a dashboard URL), or, without one, a
        cluster this workspace owns on this machine, between `min_nodes` and `max_nodes`
        nodes (its head counts as one) of `vm_size` (an Azure size, mapped to CPUs, GPUs and
        memory) or `node_resources` ({"CPU": 2, "GPU": 0, "memory_gib": 8, ...}).
        `direct_jobs=False` makes every run ask Ray for a placement group (docs/ray.md)."""
        return RayProvisioningConfiguration(address, min_nodes, max_nodes, vm_size,
                                            node_resources, idle_seconds_before_scaledown,
                                            vm_priority, direct_jobs=direct_jobs)

    # -- state --------------------------------------------------------------------------
    @property
    def dashboard_url(self) -> str:
        return str(self.config.get("address") or self.config["dashboard_url"])

    @property
    def vm_size(self) -> str | None:
        """v1's vm_size: the Azure size the nodes were made from (None for node_resources)."""
        size: Any = self.config.get("vm_size")
        return str(size) if size else None

    @property
    def vm_priority(self) -> str:
        return str(self.config.get("vm_priority") or "dedicated")

    @property
    def scale_settings(self) -> ScaleSettings:
        """v1's scale settings: min_nodes, max_nodes, idle_seconds_before_scaledown."""
        from runyard.compute.status import ScaleSettings

        return ScaleSettings(int(self.config["min_nodes"]), int(self.config["max_nodes"]),
                             int(self.config["idle_seconds_before_scaledown"]))

    @property
    def status(self) -> Any:
        """v1's `status` attribute: `get_status()`, read now."""
        return self.get_status()

    def _token(self) -> str | None:
        if self.owned:
            path = self.state_dir / "token"
            return path.read_text().strip() if path.exists() else None
        return attached_token()

    @property
    def jobs(self) -> JobsClient:
        """The cluster's Jobs REST API (`runyard.compute._ray_jobs`)."""
        return JobsClient(self.name, self.dashboard_url, self._token, self._job_api_starting)

    def _job_api_starting(self, error: ComputeTargetException) -> bool:
        """Whether a submit that failed so may work soon: an owned head that runs but does
        not answer yet."""
        return (getattr(error, "http_status", 0) is None and self.owned
                and self._head_failure() is None)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None,
                 timeout: float = 30) -> Any:
        return self.jobs.request(method, path, body, timeout)

    # -- creating -----------------------------------------------------------------------
    @classmethod
    def _create(cls, workspace: Workspace, name: str,
                config: RayProvisioningConfiguration) -> RayCompute:
        settings = {key: value for key, value in asdict(config).items()}
        settings["provisioning_state"] = "Creating"
        if config.compute_type:  # v1's kind (AmlCompute, ...), for serialize
            settings["compute_type"] = config.compute_type
        compute = cls(workspace, name, settings)
        if compute.owned:
            if shutil.which("ray", path=_bin_path()) is None:
                raise ComputeTargetException(
                    "a Ray compute needs Ray on this machine: pip install 'ray[default]==2.60.*'"
                    " (or pip install 'runyard[ray]')", name=name)
            compute.state_dir.mkdir(parents=True, exist_ok=True)
            compute._save()
            try:
                compute._start_head()
                with compute._locked():
                    for _ in range(max(0, config.min_nodes - 1)):
                        compute._start_worker_node()
            except BaseException:
                compute._stop_all_nodes()
                workspace.store.delete_compute_target(name)
                compute._remove_folders()
                raise
        else:
            compute._request("GET", "/api/version")  # reachable, and the token works
            compute.config["provisioning_state"] = "Succeeded"
            compute._save()
        return compute

    # -- waiting and status -------------------------------------------------------------
    def nodes(self, usage: bool = False) -> list[dict[str, Any]]:
        """The cluster's alive nodes: id, address, resources in total and (with `usage`,
        owned clusters) in use, and idle time."""
        if usage and self.owned and self.gcs_address:
            return _gcs_nodes(self.gcs_address, self.ray_environment())
        listed = self._request("GET", "/api/v0/nodes?limit=1000&detail=true")
        result = (listed or {}).get("data", {}).get("result", {}).get("result", [])
        nodes = []
        for node in result:
            if node.get("state") != "ALIVE":
                continue
            total = node.get("resources_total", {})
            nodes.append({"node_id": node["node_id"], "address": node.get("node_ip"),
                          "runyard_index": _runyard_index(total),
                          "total": {k: v for k, v in total.items()
                                    if not k.startswith("node:")}})
        return nodes

    def wait_for_completion(self, show_output: bool = False,
                            min_node_count: int | None = None,
                            timeout_in_minutes: float = 20,
                            is_delete_operation: bool = False,  # noqa: ARG002 - v1's
                            ) -> None:
        """Wait until the cluster answers and has `min_node_count` nodes (default
        min_nodes, at least 1 for an owned cluster: its head)."""
        wanted = min_node_count if min_node_count is not None else int(self.config["min_nodes"])
        if self.owned:
            wanted = max(wanted, 1)
            self.ensure_nodes(wanted)
        deadline = time.monotonic() + timeout_in_minutes * 60
        shown = ""
        count = 0
        while True:
            failure = self._head_failure() if self.owned else None
            if failure is not None:
                self._set_state("Failed")
                raise ComputeTargetException(
                    f"the Ray head of {self.name!r} is not running: {failure} (log: "
                    f"{self.state_dir / 'head.log'})", name=self.name)
            jobs = False
            try:
                self._request("GET", "/api/version", timeout=5)
                nodes = self.nodes()
                count = len(nodes)
                jobs = self._job_agent_answers(nodes)
                line = f"{count} node(s) up" + (f", waiting for {wanted}" if count < wanted
                                                  else "")
                if not jobs:
                    line += ", waiting for the head's job agent"
            except ComputeTargetException:
                line = "starting the Ray head" if self.owned else "reaching the cluster"
            if show_output and line != shown:
                print(f"{self.name}: {line}", flush=True)
                shown = line
            if count >= wanted and jobs:
                break
            if time.monotonic() > deadline:
                raise ComputeTargetException(
                    f"{self.name!r}: {line} after {timeout_in_minutes} minutes",
                    name=self.name)
            time.sleep(0.5)
        self._set_state("Succeeded")
        if show_output:
            print(f"{self.name}: provisioning Succeeded, {count} node(s)", flush=True)

    def _set_state(self, state: str) -> None:
        if self.config.get("provisioning_state") != state:
            self.config["provisioning_state"] = state
            self._save()

    def get_status(self) -> ComputeStatus:
        return self.compute_status()

    def compute_status(self) -> ComputeStatus:
        """v1's AmlComputeStatus of the cluster: provisioning and allocation state, node
        counts by state, scale settings, errors (the cluster not answering), and the nodes
        with their resources in total and in use. Owned clusters first stop the nodes idle
        past idle_seconds_before_scaledown."""
        from runyard.compute.status import (
            ComputeStatus,
            NodeStateCounts,
            from_timestamp,
            node_state,
        )

        errors: list[dict[str, Any]] | None = None
        nodes: list[dict[str, Any]] = []
        try:
            if self.owned:
                self.scale_down_idle()
            nodes = self.nodes(usage=True)
        except ComputeTargetException as e:
            errors = [{"code": "ClusterUnreachable", "message": str(e)}]
        counts = NodeStateCounts()
        for node in nodes:
            if node_state(node) == "running":
                counts.running_node_count += 1
            else:
                counts.idle_node_count += 1
        target = len(nodes)
        if self.owned:
            started = len([n for n in self._node_processes() if self._is_ours(n)])
            counts.preparing_node_count = max(0, started - len(nodes))
            target = started
        row = self.workspace.store.get_compute_target(self.name) or {}
        return ComputeStatus(
            allocation_state="Resizing" if counts.preparing_node_count else "Steady",
            creation_time=from_timestamp(row.get("created_at")),
            current_node_count=len(nodes), errors=errors,
            modified_time=from_timestamp(self.config.get("modified_at")),
            node_state_counts=counts, provisioning_state=self.provisioning_state,
            scale_settings=self.scale_settings, target_node_count=target,
            vm_priority=self.vm_priority, vm_size=self.vm_size, name=self.name,
            type=self.type, nodes=nodes, node_resources=self.resources)

    def describe(self) -> dict[str, Any]:
        shown = super().describe()
        nodes = shown.pop("nodes")
        shown.update(owned=self.owned, dashboard_url=self.dashboard_url, nodes=nodes)
        return shown

    def update(self, min_nodes: int | None = None, max_nodes: int | None = None,
               idle_seconds_before_scaledown: int | None = None) -> None:
        """v1's update of the scale settings: new bounds and idle time, checked as at
        create and kept in the workspace. An owned cluster starts the nodes a higher
        min_nodes asks for (`wait_for_completion` waits for them) and stops idle ones by
        the new rules on its next look."""
        if min_nodes is None and max_nodes is None and idle_seconds_before_scaledown is None:
            return
        self.refresh_state()
        given = {"min_nodes": min_nodes, "max_nodes": max_nodes,
                 "idle_seconds_before_scaledown": idle_seconds_before_scaledown}
        settings: dict[str, Any] = {k: self.config[k] if v is None else v
                                    for k, v in given.items()}
        RayProvisioningConfiguration(  # validates as create does
            address=self.config.get("address"), vm_size=self.config.get("vm_size"),
            node_resources=self.config.get("node_resources"), **settings)
        self.config.update(settings, modified_at=time.time())
        self._save()
        if self.owned and self.gcs_address:
            self.ensure_nodes(max(1, int(settings["min_nodes"])))

    def detach(self) -> None:
        """Forget an attached cluster (its nodes go on); an owned one is deleted with
        delete(), as v1 says of AmlCompute."""
        if self.owned:
            super().detach()
        self.delete()

    # -- runs ---------------------------------------------------------------------------
    def check_submission(self, config: dict[str, Any]) -> None:
        distributed = config.get("distributed")
        node_count = int((distributed or {}).get("node_count", 1))
        if node_count > int(self.config["max_nodes"]):
            raise ValidationError(
                f"this run asks for {node_count} nodes and {self.name!r} has at most "
                f"{self.config['max_nodes']} (max_nodes)")
        if distributed and distributed.get("framework") == "mpi" and node_count > 1:
            raise ValidationError(
                "MPI across several Ray nodes is not supported yet (mpirun would need ssh "
                "between the nodes); run the ranks on one node (process_count_per_node), "
                "or use TensorflowConfiguration / PyTorchConfiguration")
        self.run_bundles(config, submitting=True)

    def _node_size_known(self) -> bool:
        """Whether a node's resources are known: an owned cluster's always are, an
        attached one's when a vm_size or node_resources was given."""
        return self.owned or bool(self.config.get("vm_size")
                                  or self.config.get("node_resources"))

    def run_bundles(self, config: dict[str, Any], submitting: bool = False,
                    plan: Plan | None = None) -> tuple[list[dict[str, float]], list[int]]:
        """The placement group a run asks for: one bundle per node of its plan that has
        processes, and each bundle's node rank.

        As v1 ran them, the processes of a node share its CPUs and GPUs: a bundle asks for
        one CPU per process, at most the node's CPUs (more processes than CPUs is allowed,
        with one warning line at submit), and, with use_gpu, one GPU per process that may
        use one (parameter servers need none), at most the node's GPUs and at least one.
        A node that would need a GPU and has none is refused at submit (`submitting`).

        The loads come from the run's plan as submitted (`plan`, else the spec's `plan`;
        only a spec written before plans traveled has none, and its shape is made here)."""
        from runyard.distributed.plan import node_loads

        use_gpu = bool((config.get("estimator") or {}).get("use_gpu"))
        loads = node_loads(plan if plan is not None else _submitted_plan(config))
        known = self._node_size_known()
        cpus = float(self.resources.get("CPU", 1))
        have_gpus = float(self.resources.get("GPU", 0))
        gpus = min(have_gpus, _gpus_here()) if self.owned else have_gpus
        bundles: list[dict[str, float]] = []
        occupied: list[int] = []
        for node, load in enumerate(loads):
            if not load.processes:
                continue
            bundle = {"CPU": float(min(load.processes, cpus) if known else load.processes)}
            if use_gpu and load.gpu_processes:
                if known and gpus < 1 and submitting:
                    why = ("its nodes have none" if not have_gpus else
                           f"its vm_size gives {have_gpus:g} per node, but this machine "
                           f"has {_gpus_here()} (nvidia-smi)")
                    raise ValidationError(
                        f"use_gpu=True needs a GPU on node {node} of this run (for its "
                        f"{load.gpu_processes} process(es) other than parameter servers) "
                        f"and {self.name!r} cannot give one: {why}; submit with "
                        f"use_gpu=False, or to a cluster whose nodes have GPUs")
                bundle["GPU"] = float(min(load.gpu_processes, gpus) if known
                                      else load.gpu_processes)
            bundles.append(bundle)
            occupied.append(node)
        crowded = [(node, load.processes) for node, load in enumerate(loads)
                   if known and load.processes > cpus]
        if submitting and crowded:
            import warnings

            node, count = max(crowded, key=lambda item: item[1])
            warnings.warn(
                f"this run puts {count} processes on one node and a node of {self.name!r} "
                f"has {cpus:g} CPUs: they share them, as on Azure ML (more nodes, "
                f"node_count, or bigger ones, vm_size / node_resources, give each its own)",
                NodeOversubscribedWarning, stacklevel=4)
        return bundles, occupied

    def _launch(self, run_id: str) -> None:
        """Submit the run's supervisor as a Ray job. A run whose plan fits one node, on an
        owned cluster with room for it now, is *direct*: the job's entrypoint resources
        are the run's bundle, so Ray places the supervisor on a node that has them and
        holds them for it, and the supervisor starts the processes itself (no placement
        group, no node agent, no ray.init; `runyard.compute.ray_executor`); the job's
        entrypoint has the supervisor forked by the fork server when one answers
        (`runyard.compute._ray_entry`). Any other run's
        supervisor asks for nothing (it runs on the head) and asks Ray for a placement
        group."""
        run_dir = self.workspace.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable if self.owned else "python"
        variables = {"RUNYARD_STORE_URL": self.workspace.store_url,
                     "RUNYARD_ARTIFACT_URL": self.workspace.artifact_url}
        bundle = self._direct_bundle(run_id)
        resources: dict[str, Any] = {"entrypoint_num_cpus": 0}
        module = "runyard.supervisor"
        if bundle is not None:
            # its supervisor forked by the fork server, if one answers (_ray_entry)
            module = "runyard.compute._ray_entry"
            variables.update({DIRECT_VARIABLE: "1",
                              "RUNYARD_SUPERVISOR_LOG": str(run_dir / "supervisor.log")})
            resources = {"entrypoint_num_cpus": bundle["CPU"],
                         "entrypoint_num_gpus": bundle.get("GPU", 0)}
        entrypoint = " ".join(
            [*(f"{k}={shlex.quote(v)}" for k, v in variables.items()),
             shlex.quote(python), "-m", module,
             shlex.quote(str(self.workspace.path)), shlex.quote(run_id),
             ">>", shlex.quote(str(run_dir / "supervisor.log")), "2>&1"])
        self._submit_job({"entrypoint": entrypoint, "submission_id": job_id(run_id),
                          **resources, "metadata": {"runyard_run": run_id}})

    def _direct_bundle(self, run_id: str) -> dict[str, float] | None:
        """The one bundle of run `run_id` if it can be a direct job: its plan fits one
        node, and a node of this owned cluster has it free now, counting the bundles of
        every other active run on this cluster as taken (first fit). An attached cluster's
        runs are never direct (what its nodes hold is not known here, and a job Ray keeps
        pending has no supervisor yet to show Scaling or to scale). The cluster's
        `direct_jobs` setting (True unless set False in its config) turns them off."""
        if not self.owned or not self.config.get("direct_jobs", True):
            return None
        from runyard import _status

        store = self.workspace.store
        bundles, _ = self.run_bundles(store.get_run(run_id)["config"] or {})
        if len(bundles) != 1:
            return None
        nodes = len([n for n in self._node_processes() if self._is_ours(n)])
        gpus = float(self.resources.get("GPU", 0))
        size = {"CPU": float(self.resources.get("CPU", 1)),
                "GPU": min(gpus, _gpus_here()) if bundles[0].get("GPU") else gpus}
        free = [dict(size) for _ in range(nodes)]
        for status in _status.ACTIVE:
            for row in store.list_runs(status=status):
                if row["id"] == run_id or row.get("compute_target") != self.name:
                    continue
                try:
                    taken, _ = self.run_bundles(row["config"] or {})
                except Exception:  # noqa: BLE001 - a run that does not read holds nothing
                    continue
                for want in taken:
                    node = next((f for f in free if _fits(want, f)), None)
                    if node is not None:
                        for key, value in want.items():
                            node[key] = node.get(key, 0) - value
        return bundles[0] if any(_fits(bundles[0], f) for f in free) else None

    def _submit_job(self, job: dict[str, Any]) -> None:
        self.jobs.submit(job)

    def supervisor_pending(self, run_id: str) -> bool:
        """A run's job that Ray keeps PENDING (a direct run's node not free yet) has no
        supervisor yet, nor one that Ray has just started (RUNNING) before it claimed
        the run: neither is a failure. Once the job has ended, the supervisor is gone."""
        try:
            return self.job_status(run_id).get("status") in ("PENDING", "RUNNING")
        except ComputeTargetException:
            return False

    def job_status(self, run_id: str) -> dict[str, Any]:
        """Ray's own record of the run's supervisor job."""
        return self.jobs.job(job_id(run_id))

    # -- deleting -----------------------------------------------------------------------
    def delete(self) -> None:
        """Stop an owned cluster's nodes and forget the compute target. Refused while runs
        are active on it."""
        from runyard import _status

        active = [row["id"] for row in self.workspace.store.list_runs()
                  if row["status"] in _status.ACTIVE and row.get("compute_target") == self.name]
        if active:
            raise ComputeTargetException(
                f"compute target {self.name!r} has {len(active)} active run(s): "
                f"{', '.join(active[:5])}; cancel them first", name=self.name)
        if self.owned:
            self._stop_all_nodes()
            self._remove_folders()
        self.workspace.store.delete_compute_target(self.name)



DIRECT_VARIABLE = "RUNYARD_RAY_DIRECT"  # in a direct job's entrypoint (see _launch)


def _fits(bundle: dict[str, float], free: dict[str, float]) -> bool:
    return all(free.get(key, 0) >= value for key, value in bundle.items())


def _submitted_plan(config: dict[str, Any]) -> Plan:
    """The plan a run was submitted with (its spec's JSON `plan`); a spec written before
    plans traveled has none: its shape is made from the distributed configuration."""
    from runyard.distributed.plan import Plan, plan_for

    if config.get("plan"):
        return Plan.from_json(config["plan"])
    return plan_for(config.get("distributed"))


__all__ = ["RAY_STATE", "SUBMIT_RETRY_SECONDS", "RayCompute", "RayProvisioningConfiguration",
           "gcs_unreachable", "job_id"]
