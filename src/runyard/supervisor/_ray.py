"""A run on a Ray cluster: its supervisor is a Ray job; its processes run in node agents.

The supervisor (this module's `RaySupervisor`, started by `ray job submit`'s REST twin,
see `runyard.compute.ray`) owns the run as on the local compute. Differences:
- Connecting: to the GCS address recorded with its own cluster (never a RAY_ADDRESS that
  names another cluster), checked within CONNECT_TIMEOUT before `ray.init`, which would
  wait many minutes for a GCS that does not answer; the run fails naming the address.
- Queued/Scaling: it asks Ray for a placement group, one bundle per node the plan uses
  (STRICT_SPREAD when there are several), and waits while Ray places it. Meanwhile the run
  shows Scaling with what it waits for; an owned cluster gets worker nodes started.
- Starting: one `NodeAgent` actor per bundle prepares the environment on its node (same
  builder, cached per node), the working directory and the data references, and reports
  its address; the plan is then made with the real node addresses.
- Running: each agent starts its node's processes (a ProcessGroup, as on the local
  compute); the supervisor polls them and decides with the same success policy. An agent
  that dies (its node died) fails the run with the node named.
- Logs, channels (metrics) and the run folder live in the workspace, which every node must
  reach (one machine, or a shared filesystem). Outputs are uploaded by each node's agent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import time
from pathlib import Path
from subprocess import Popen
from typing import Any, cast

from runyard import _status
from runyard.compute import get_compute_target
from runyard.compute.ray import RayCompute, gcs_unreachable
from runyard.distributed.plan import Plan, ProcessSpec, make_plan
from runyard.supervisor._group import Outcome, ProcessGroup
from runyard.supervisor._supervisor import POLL_SECONDS, Supervisor, _Stop

SCALE_UP_COOLDOWN = 30.0   # seconds between two worker nodes started for one pending run
AGENT_CALL_TIMEOUT = 600.0
CONNECT_TIMEOUT = 30.0     # seconds to reach the cluster's GCS before the run fails


class _Remote:
    """A process (or mpirun) on some node, as its agent last reported it."""

    def __init__(self, key: int) -> None:
        self.pid = key
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int | None:
        return self.returncode


class RemoteGroup(ProcessGroup):
    """The plan's processes on the nodes; `poll` decides as on the local compute."""

    def start(self) -> None:
        if self.plan.launcher == "mpirun":
            self.running = [(None, cast("Popen[bytes]", _Remote(-1)))]
        else:
            self.running = [(spec, cast("Popen[bytes]", _Remote(spec.rank)))
                            for spec in self.plan.processes]

    def update(self, states: list[tuple[int | None, int | None]]) -> None:
        by_key = {(-1 if spec is None else spec.rank): process
                  for spec, process in self.running}
        for rank, returncode in states:
            process = by_key.get(-1 if rank is None else rank)
            if isinstance(process, _Remote):
                process.returncode = returncode

    def wait(self) -> None:
        return None


def _subplan(plan: Plan, node: int) -> Plan:
    if plan.launcher == "mpirun":
        return plan
    return Plan(plan.kind, tuple(p for p in plan.processes if p.node_rank == node),
                plan.node_count, plan.launcher)


class NodeAgent:
    """One per node of a run, placed in its bundle; runs that node's processes."""

    def __init__(self, workspace_path: str, store_url: str, artifact_url: str, run_id: str,
                 node: int) -> None:
        from runyard.supervisor import _processes
        from runyard.workspace import Workspace

        _processes.become_subreaper()
        self.ws = Workspace(Path(workspace_path).name, workspace_path, store_url=store_url,
                            artifact_url=artifact_url)
        self.run_id = run_id
        self.node = node
        self.dir = self.ws.run_dir(run_id)
        self.workdir = self.dir / "wd" / f"node_{node}"
        self.group: ProcessGroup | None = None
        self.environment: Any = None

    def where(self) -> dict[str, Any]:
        import ray

        from runyard._local import free_ports

        return {"ip": ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
                "node_id": ray.get_runtime_context().get_node_id(),
                "pid": os.getpid(), "ports": free_ports(8)}

    def _say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with open(self.dir / "logs" / "supervisor.txt", "a") as log:
            log.write(f"[{stamp}Z] [node {self.node}] {message}\n")

    def start(self, config: dict[str, Any], plan: dict[str, Any], env: dict[str, str],
              interpreter: str, snapshot_id: str) -> None:
        """Prepare this node (environment, working directory, data) and start its processes."""
        from runyard.artifacts import snapshot
        from runyard.environment import EnvironmentCache
        from runyard.environment._shim import ensure_runtime_shim

        environment = config.get("environment")
        if environment is not None and not environment["user_managed"]:
            with open(self.dir / "logs" / "environment.txt", "a", buffering=1) as log:
                self.environment = EnvironmentCache().prepare(environment["spec"], log,
                                                              on_wait=self._say)
            interpreter = str(self.environment.interpreter)
            ensure_runtime_shim(EnvironmentCache().root)  # on PYTHONPATH in `env`
        count = snapshot.materialize(snapshot_id, self.ws.artifacts, self.workdir)
        (self.workdir / "outputs").mkdir(exist_ok=True)
        arguments = list(config.get("arguments", []))
        env = dict(env)
        if config.get("data_references"):
            from runyard.data import apply_data_references

            arguments, data_env = apply_data_references(
                self.ws, config["data_references"], arguments, self.workdir, self._say)
            env.update(data_env)
        import ray

        env["RUNYARD_RAY_NODE_ID"] = ray.get_runtime_context().get_node_id()
        for key in ("CUDA_VISIBLE_DEVICES",):  # what Ray gave this node's bundle
            if key in os.environ:
                env[key] = os.environ[key]
        specs = tuple(ProcessSpec(**p) for p in plan["processes"])
        subplan = _subplan(Plan(plan["kind"], specs, plan["node_count"], plan["launcher"]),
                           self.node)
        self._say(f"{count} files in {self.workdir}; starting {subplan.world_size} "
                  f"process(es)")
        self.group = ProcessGroup(subplan, [interpreter, config["script"], *arguments],
                                  self.workdir, env, self.dir / "logs", self.dir / "channel")
        self.group.start()

    def poll(self) -> list[tuple[int | None, int | None]]:
        from runyard.supervisor import _processes

        if self.group is None:
            return []
        _processes.reap_orphans(self.group.pids)
        return [(None if spec is None else spec.rank, process.poll())
                for spec, process in self.group.running]

    def stop(self, grace: float) -> int:
        """Stop every process this agent started (and theirs); return how many needed it."""
        from runyard.supervisor import _processes

        waited = self.group.pids if self.group is not None else set()
        left = _processes.kill_tree(os.getpid(), grace, waited_elsewhere=waited)
        if self.group is not None:
            self.group.wait()
        return len(left)

    def upload_outputs(self, taken: list[str]) -> list[tuple[str, int]]:
        """Upload this node's ./outputs, except names another node uploaded already (the
        walk and its warnings: runyard.artifacts._run_files)."""
        from runyard.artifacts._run_files import record_warnings, upload_run_folder

        uploaded = upload_run_folder(self.ws.artifacts, self.run_id, self.workdir / "outputs",
                                     "outputs", inside=self.workdir, skip=set(taken))
        for warning in uploaded.warnings:
            self._say(f"warning: {warning}")
        record_warnings(self.ws.store, self.run_id, "outputs", uploaded.warnings)
        return uploaded.files

    def release(self) -> None:
        if self.environment is not None:
            self.environment.release()
            self.environment = None
        shutil.rmtree(self.workdir, ignore_errors=True)


class RaySupervisor(Supervisor):
    """The supervisor of a run on a RayCompute (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        compute = get_compute_target(self.ws, self.run["compute_target"])
        assert isinstance(compute, RayCompute)
        self.compute: RayCompute = compute
        self.placement: Any = None
        self.agents: list[Any] = []
        self.nodes: list[dict[str, Any]] = []
        self.plan: Plan | None = None
        self.dead_agents: set[int] = set()  # indexes of agents whose node died
        self.connected = False

    # -- placement ----------------------------------------------------------------------
    def _address(self) -> str:
        """The GCS address of the run's own cluster. An owned cluster's is recorded with it;
        RAY_ADDRESS is not trusted there (Ray's job supervisor fills it from the
        `ray_current_cluster` file of its temp folder, which clusters sharing the folder
        overwrite). Of an attached cluster only the dashboard is known: its address is
        the one Ray gave this job (RAY_ADDRESS), from the cluster the job runs on."""
        address = self.compute.gcs_address or os.environ.get("RAY_ADDRESS")
        if not address or address == "auto" or "://" in address:
            raise _Stop(_status.FAILED, f"no Ray GCS address for {self.compute.name!r}: "
                                        f"RAY_ADDRESS is {address!r}")
        return address

    def _connect(self) -> None:
        import logging

        for key, value in self.compute.ray_environment().items():
            os.environ.setdefault(key, value)
        address = self._address()
        os.environ["RAY_ADDRESS"] = address  # ray.init prefers it to its argument
        self.say(f"connecting to Ray cluster {self.compute.name!r} at {address}")
        why = gcs_unreachable(address, CONNECT_TIMEOUT)
        if why is not None:
            raise _Stop(_status.FAILED, f"cannot connect to Ray cluster "
                                        f"{self.compute.name!r} at {address}: {why}")
        import ray

        ray.init(address=address, namespace="runyard", logging_level=logging.ERROR,
                 log_to_driver=False, configure_logging=False)
        self.connected = True
        # ray.init may install its own handlers; the supervisor's come back
        signal.signal(signal.SIGUSR1, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _bundles(self) -> tuple[list[dict[str, float]], list[int]]:
        """The placement group's bundles (one per node that has processes) and, for each,
        the plan's node rank."""
        return self.compute.run_bundles(self.config)

    def _queue(self) -> None:
        import ray
        from ray.util.placement_group import placement_group

        self._connect()
        bundles, _ = self._bundles()
        strategy = "STRICT_SPREAD" if len(bundles) > 1 else "PACK"
        wanted = _describe(bundles)
        self.transition(_status.QUEUED, detail=f"asking {self.compute.name} for {wanted}")
        self.placement = placement_group(bundles, strategy=strategy,
                                         name=f"runyard-{self.run_id}")
        ready = self.placement.ready()
        last_scale = 0.0
        scaling_detail = ""
        while not ray.wait([ready], timeout=0.5)[0]:
            self.check_cancel()
            alive = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
            started = 0
            now = time.monotonic()
            if self.compute.owned and now - last_scale > SCALE_UP_COOLDOWN:
                started = self.compute.scale_up(len(bundles))
                last_scale = now
            detail = (f"waiting for {wanted}; {self.compute.name} has {len(alive)} node(s) "
                      f"up (max_nodes {self.compute.config['max_nodes']})")
            if started:
                detail += f", starting {started} more"
            elif not self.compute.owned:
                detail += ", waiting for the cluster's autoscaler"
            else:
                detail += ", waiting for nodes to free up"
            if self.status != _status.SCALING:
                self.transition(_status.SCALING, detail=detail)
                scaling_detail = detail
            elif detail != scaling_detail and started:
                self.say(f"Scaling: {detail}")
                scaling_detail = detail

    def _start(self) -> None:
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        self.transition(_status.STARTING)
        bundles, occupied = self._bundles()
        agent_class = ray.remote(NodeAgent)
        for index, bundle in enumerate(bundles):
            strategy = PlacementGroupSchedulingStrategy(
                self.placement, placement_group_bundle_index=index)
            self.agents.append(agent_class.options(
                scheduling_strategy=strategy, num_cpus=bundle["CPU"],
                num_gpus=bundle.get("GPU", 0), max_restarts=0,
                name=f"runyard-{self.run_id}-node-{index}").remote(
                    str(self.ws.path), self.ws.store_url, self.ws.artifact_url, self.run_id,
                    index))
        self.nodes = self._call([agent.where.remote() for agent in self.agents], 300)
        for index, node in enumerate(self.nodes):
            self.say(f"node {index}: ray node {node['node_id'][:12]} at {node['ip']}, agent "
                     f"pid {node['pid']}")
        hosts = [self.nodes[0]["ip"]] * max(occupied[-1] + 1, 1)
        for index, node_rank in enumerate(occupied):
            hosts[node_rank] = self.nodes[index]["ip"]
        ports = iter([port for node in self.nodes for port in node["ports"]])
        plan = make_plan(self.config.get("distributed"), hosts, ports)
        # the plan's node ranks become the bundles' indexes
        renumber = {node_rank: index for index, node_rank in enumerate(occupied)}
        self.plan = Plan(plan.kind, tuple(
            dataclasses.replace(p, node_rank=renumber[p.node_rank]) for p in plan.processes),
            plan.node_count, plan.launcher)
        self.check_cancel()

    def _execute(self) -> Outcome:
        plan = self.plan
        assert plan is not None
        env = self._environment()
        command = [self.interpreter, self.config["script"], *self.config.get("arguments", [])]
        self.group = RemoteGroup(plan, command, self.dir / "wd", env, self.logs,
                                 self.dir / "channel")
        self.group.start()
        self.transition(_status.RUNNING)
        self.say(f"starting {plan.world_size} process(es) ({plan.kind}) on "
                 f"{len(self.agents)} node(s): {' '.join(command)}")
        plan_dict = plan.to_dict()
        self._call([agent.start.remote(self.config, plan_dict, env, self.interpreter,
                                       self.run["snapshot_id"]) for agent in self.agents],
                   AGENT_CALL_TIMEOUT)
        group = self.group
        assert isinstance(group, RemoteGroup)
        started = time.monotonic()
        limit = self.config.get("max_run_duration_seconds")
        while True:
            states = self._call([agent.poll.remote() for agent in self.agents], 60)
            group.update([state for node in states for state in node])
            outcome = group.poll()
            self.ingest.poll()
            if outcome is not None:
                return outcome
            self.check_cancel()
            if limit and time.monotonic() - started > limit:
                raise _Stop(_status.FAILED, f"run exceeded max_run_duration_seconds={limit}")
            self._sleep(POLL_SECONDS * 2)

    def _call(self, refs: list[Any], timeout: float) -> list[Any]:
        """ray.get, naming the node when an agent died (its node died)."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        try:
            return list(ray.get(refs, timeout=timeout))
        except RayActorError:
            for index, ref in enumerate(refs):
                try:
                    ray.get(ref, timeout=5)
                except (RayActorError, GetTimeoutError) as e:
                    raise _Stop(_status.FAILED, self._node_died(index, e)) from e
            raise
        except GetTimeoutError as e:
            raise _Stop(_status.FAILED, f"the nodes did not answer within {timeout:.0f} s") \
                from e

    def _node_died(self, index: int, error: Exception) -> str:
        node = self.nodes[index] if index < len(self.nodes) else {}
        where = (f"ray node {node['node_id'][:12]} at {node['ip']}" if node
                 else "its node")
        cause = str(error).strip().splitlines()
        reason = next((line.strip() for line in cause
                       if "node" in line.lower() and ("died" in line or "dead" in line
                                                      or "failed" in line)),
                      cause[0] if cause else type(error).__name__)
        self.dead_agents.add(index)
        return f"node {index} ({where}) died during the run: {reason[:300]}"

    def _stop_processes(self) -> int:
        """Every live node's agent stops its processes; a dead node has none left."""
        import ray

        from runyard.supervisor._supervisor import KILL_GRACE_SECONDS

        left = 0
        for index, agent in enumerate(self.agents):
            if index in self.dead_agents:
                continue
            try:
                left += int(ray.get(agent.stop.remote(KILL_GRACE_SECONDS),
                                    timeout=KILL_GRACE_SECONDS + 30))
            except Exception as e:  # noqa: BLE001 - a dead node has nothing left to stop
                self.say(f"node {index}: could not stop its processes: {e}")
                self.dead_agents.add(index)
        return left

    def _upload_outputs(self) -> None:
        """Each node's agent uploads its ./outputs, node 0 first; names an earlier node
        uploaded are kept."""
        import ray

        taken: list[str] = []
        for index, agent in enumerate(self.agents):
            if index in self.dead_agents:
                continue
            try:
                uploaded = ray.get(agent.upload_outputs.remote(taken), timeout=600)
            except Exception as e:  # noqa: BLE001 - the other nodes' outputs still count
                self.say(f"node {index}: could not upload its outputs: {e}")
                continue
            self.store.add_files(self.run_id, uploaded)
            taken.extend(name for name, _ in uploaded)

    def _cleanup(self) -> None:
        if not self.connected:  # nothing of the cluster's to release
            super()._cleanup()
            return
        try:
            import ray

            for index, agent in enumerate(self.agents):
                if index not in self.dead_agents:
                    with contextlib.suppress(Exception):  # best effort on the way out
                        ray.get(agent.release.remote(), timeout=30)
                ray.kill(agent)
            if self.placement is not None:
                ray.util.remove_placement_group(self.placement)
            ray.shutdown()
        except Exception as e:  # noqa: BLE001 - the run's end state is recorded already
            self.say(f"could not release the cluster's resources: {e}")
        try:
            self.compute.scale_down_idle()
        except Exception as e:  # noqa: BLE001 - scaling down is best effort
            self.say(f"scale down: {e}")
        super()._cleanup()


def _describe(bundles: list[dict[str, float]]) -> str:
    parts = ", ".join(f"{value:g} {key}" for key, value in bundles[0].items())
    if len(bundles) == 1:
        return f"1 node with {parts} free"
    return f"{len(bundles)} separate nodes with {parts} free each"
