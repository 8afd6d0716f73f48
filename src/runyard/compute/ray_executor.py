"""The Ray compute's executor: the run's driver is a Ray job; its processes run in one
node agent (an actor) per node the run holds, or, for a *direct* run, in the job itself.

A direct run (its plan fits one node, and the owned cluster had room for it at submit:
`RayCompute._launch`) is a job whose entrypoint resources are the run's bundle: Ray
starts the job on a node that has them free and holds them while it runs, so the driver
is already where the processes go. It connects to nothing: Queued is passed at once (Ray
placed the job), the node is prepared and the processes started by a `NodeAgent` in the
driver's own process, and Ray's record of the job is read every `DIRECT_WATCH_SECONDS`
(the Jobs REST API): a job Ray no longer runs (its node died) fails the run naming the
node. Everything below is the path of every other run.

- Connecting: to the GCS address recorded with its own cluster (never a RAY_ADDRESS that
  names another cluster), checked within CONNECT_TIMEOUT before `ray.init`, which would
  wait many minutes for a GCS that does not answer; the run fails naming the address.
- Preparing: nothing on the driver; the environment is prepared on the nodes.
- Queued/Scaling: a placement group, one bundle per node the plan uses (STRICT_SPREAD
  when there are several); while Ray places it the run shows Scaling with what it waits
  for, and an owned cluster gets worker nodes started.
- Starting: one `NodeAgent` per bundle reports its address and ports, then prepares its
  node once (environment from the node's cache, working directory, data references:
  `runyard.compute._node`, as the local compute); the plan is made with the real
  addresses.
- Running: each agent starts its node's processes (a ProcessGroup, as on the local
  compute); the executor polls them and decides with the same completion policy. An
  agent that dies (its node died) fails the run with the node named.
- Logs, channels (metrics) and the run folder live in the workspace, which every node must
  reach (one machine, or a shared filesystem). Outputs are uploaded by each node's agent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._status import CANCELED, QUEUED, SCALING
from runyard.compute.executor import KILL_GRACE_SECONDS, Executor, Outcome, StopRun, failed
from runyard.compute.ray import DIRECT_VARIABLE
from runyard.distributed.plan import Plan, ProcessSpec

if TYPE_CHECKING:
    from runyard._spec import RunSpec
    from runyard.compute._node import NodeEnvironment, WorkingDirectory
    from runyard.compute._process_group import ProcessGroup
    from runyard.compute.ray import RayCompute
    from runyard.workspace import Workspace

SCALE_UP_COOLDOWN = 30.0   # seconds between two worker nodes started for one pending run
AGENT_CALL_TIMEOUT = 600.0
CONNECT_TIMEOUT = 30.0     # seconds to reach the cluster's GCS before the run fails
DIRECT_WATCH_SECONDS = 2.0  # how often a direct run reads Ray's record of its job


def _subplan(plan: Plan, node_rank: int) -> Plan:
    if plan.launcher == "mpirun":
        return plan
    return Plan(plan.kind, tuple(p for p in plan.processes if p.node_rank == node_rank),
                plan.node_count, plan.launcher)


class NodeAgent:
    """One per node of a run, placed in its bundle; prepares the node, runs its processes."""

    def __init__(self, workspace_path: str, store_url: str, artifact_url: str, run_id: str,
                 node: int, workspace: Workspace | None = None) -> None:
        """On a node of its own (an actor); in the driver's process for a direct run
        (`workspace`: the driver's)."""
        from runyard.supervisor import _processes
        from runyard.workspace import Workspace

        _processes.become_subreaper()
        self.ws = workspace or Workspace(Path(workspace_path).name, workspace_path,
                                         store_url=store_url, artifact_url=artifact_url)
        self.run_id = run_id
        self.node_id = ""  # the Ray node's id: where() tells, or the driver of a direct run
        self.node = node
        self.dir = self.ws.run_dir(run_id)
        self.workdir_path = self.dir / "wd" / f"node_{node}"
        self.group: ProcessGroup | None = None
        self.environment: NodeEnvironment | None = None
        self.workdir: WorkingDirectory | None = None

    def where(self, ports: int = 8) -> dict[str, Any]:
        """This node's address and Ray id, and `ports` ports free on it."""
        import ray

        from runyard._local import free_ports

        self.node_id = ray.get_runtime_context().get_node_id()
        return {"ip": ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
                "node_id": self.node_id,
                "pid": os.getpid(), "ports": free_ports(ports)}

    def _say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with open(self.dir / "logs" / "supervisor.txt", "a") as log:
            log.write(f"[{stamp}Z] [node {self.node}] {message}\n")

    def _check_cancel(self) -> None:
        if self.ws.store.get_run(self.run_id)["cancel_requested_at"]:
            raise StopRun(CANCELED, "canceled by request")

    def prepare(self, config: RunSpec | dict[str, Any],
                snapshot_id: str) -> tuple[str, str] | None:
        """Prepare this node once: environment, working directory, data references.
        Returns how and why the run cannot go on here (status, reason), or None."""
        from runyard.compute._node import prepare_environment, prepare_working_directory

        try:
            self.environment = prepare_environment(config, self.dir / "logs", self._say,
                                                   self._check_cancel)
            self.workdir = prepare_working_directory(self.ws, config, snapshot_id,
                                                     self.workdir_path, self._say)
        except StopRun as stop:
            return stop.status, stop.reason
        return None

    def start(self, script: str, plan: dict[str, Any], env: dict[str, str],
              node_rank: int) -> None:
        """Start this node's processes of `plan` (the bound plan's JSON): those of node
        `node_rank`."""
        from runyard.compute._process_group import ProcessGroup
        from runyard.compute.executor import with_shim

        environment, workdir = self.environment, self.workdir
        assert environment is not None, "the node is prepared before start"
        assert workdir is not None, "the node is prepared before start"
        env = {**with_shim(env, environment.shim), **workdir.data_environment,
               "RUNYARD_RAY_NODE_ID": self.node_id}
        for key in ("CUDA_VISIBLE_DEVICES",):  # what Ray gave this node's bundle
            if key in os.environ:
                env[key] = os.environ[key]
        subplan = _subplan(Plan.from_json(plan), node_rank)
        self._say(f"starting {subplan.world_size} process(es)")
        self.group = ProcessGroup(subplan, [environment.interpreter, script,
                                            *workdir.arguments],
                                  workdir.path, env, self.dir / "logs", self.dir / "channel")
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
        """Upload this node's ./outputs and ./logs, except names another node uploaded
        already (the walk and its warnings: runyard.artifacts._run_files)."""
        from runyard.artifacts._run_files import record_warnings, upload_run_folder

        files: list[tuple[str, int]] = []
        # ./outputs, and what the script wrote to ./logs (TensorBoard's event files, as
        # v1 keeps them)
        for base, inside in (("outputs", self.workdir_path),
                             ("logs", self.workdir_path / "logs")):
            uploaded = upload_run_folder(self.ws.artifacts, self.run_id,
                                         self.workdir_path / base, base,
                                         inside=inside, skip=set(taken))
            for warning in uploaded.warnings:
                self._say(f"warning: {warning}")
            record_warnings(self.ws.store, self.run_id, base, uploaded.warnings)
            files += uploaded.files
        return files

    def release(self) -> None:
        if self.environment is not None:
            self.environment.release()
            self.environment = None
        shutil.rmtree(self.workdir_path, ignore_errors=True)


class RayExecutor(Executor):
    """One run on a RayCompute (see the module's docstring)."""

    poll_seconds = 0.2
    compute: RayCompute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.placement: Any = None
        self.agents: list[Any] = []
        self.nodes: list[dict[str, Any]] = []
        self.occupied: list[int] = []  # each agent's node rank in the plan
        self.plan: Plan | None = None
        self.states: dict[int | None, int | None] = {}  # rank (None: mpirun) → exit code
        self.decided_at: float | None = None
        self.dead_agents: set[int] = set()  # indexes of agents whose node died
        self.connected = False
        # a direct run: the job holds the node, an in-process agent runs the processes
        self.direct = os.environ.pop(DIRECT_VARIABLE, None) == "1"
        self.local: NodeAgent | None = None
        self.watched_at = 0.0

    # -- Queued/Scaling -----------------------------------------------------------------
    def _address(self) -> str:
        """The GCS address of the run's own cluster. An owned cluster's is recorded with it;
        RAY_ADDRESS is not trusted there (Ray's job supervisor fills it from the
        `ray_current_cluster` file of its temp folder, which clusters sharing the folder
        overwrite). Of an attached cluster only the dashboard is known: its address is
        the one Ray gave this job (RAY_ADDRESS), from the cluster the job runs on."""
        address = self.compute.gcs_address or os.environ.get("RAY_ADDRESS")
        if not address or address == "auto" or "://" in address:
            raise failed(f"no Ray GCS address for {self.compute.name!r}: "
                         f"RAY_ADDRESS is {address!r}")
        return address

    def _connect(self) -> None:
        import logging

        from runyard.compute._ray_nodes import gcs_unreachable

        for key, value in self.compute.ray_environment().items():
            os.environ.setdefault(key, value)
        address = self._address()
        os.environ["RAY_ADDRESS"] = address  # ray.init prefers it to its argument
        self.run.say(f"connecting to Ray cluster {self.compute.name!r} at {address}")
        why = gcs_unreachable(address, CONNECT_TIMEOUT)
        if why is not None:
            raise failed(f"cannot connect to Ray cluster {self.compute.name!r} at "
                         f"{address}: {why}")
        import ray

        ray.init(address=address, namespace="runyard", logging_level=logging.ERROR,
                 log_to_driver=False, configure_logging=False)
        self.connected = True
        self.run.install_signal_handlers()  # ray.init may install its own

    @property
    def _plan(self) -> Plan:
        """The run's plan as submitted (its shape; bound at Starting)."""
        plan = self.run.spec.plan
        assert plan is not None, "the driver's spec has its plan"
        return plan

    def _bundles(self) -> tuple[list[dict[str, float]], list[int]]:
        """The placement group's bundles (one per node that has processes) and, for each,
        the plan's node rank."""
        return self.compute.run_bundles(self.run.config, plan=self._plan)

    def acquire(self) -> None:
        if self.direct:
            self._acquire_direct()
            return
        import ray
        from ray.util.placement_group import placement_group

        run, compute = self.run, self.compute
        self._connect()
        bundles, _ = self._bundles()
        strategy = "STRICT_SPREAD" if len(bundles) > 1 else "PACK"
        wanted = _describe(bundles)
        run.transition(QUEUED, detail=f"asking {compute.name} for {wanted}")
        self.placement = placement_group(bundles, strategy=strategy,
                                         name=f"runyard-{run.run_id}")
        ready = self.placement.ready()
        last_scale = 0.0
        scaling_detail = ""
        while not ray.wait([ready], timeout=0.5)[0]:
            run.check_cancel()
            alive = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
            started = 0
            now = time.monotonic()
            if compute.owned and now - last_scale > SCALE_UP_COOLDOWN:
                started = compute.scale_up(len(bundles))
                last_scale = now
            detail = (f"waiting for {wanted}; {compute.name} has {len(alive)} node(s) "
                      f"up (max_nodes {compute.config['max_nodes']})")
            if started:
                detail += f", starting {started} more"
            elif not compute.owned:
                detail += ", waiting for the cluster's autoscaler"
            else:
                detail += ", waiting for nodes to free up"
            if run.status != SCALING:
                run.transition(SCALING, detail=detail)
                scaling_detail = detail
            elif detail != scaling_detail and started:
                run.say(f"Scaling: {detail}")
                scaling_detail = detail

    def _acquire_direct(self) -> None:
        """A direct run's job holds its node already (Ray started it there)."""
        run, compute = self.run, self.compute
        bundles, occupied = self._bundles()
        run.transition(QUEUED, detail=f"asking {compute.name} for {_describe(bundles)}")
        job = self._job()
        # every node of an owned cluster (the only kind with direct runs) is on this
        # machine, and all of a direct run's processes are on this node: 127.0.0.1
        self.nodes = [{"node_id": str(job.get("driver_node_id") or ""), "ip": "127.0.0.1",
                       "pid": os.getpid()}]
        self.occupied = occupied
        run.say(f"Ray cluster {compute.name!r} at {compute.dashboard_url} placed the run's "
                f"job on ray node {self.nodes[0]['node_id'][:12]}: a direct run (the job's "
                f"entrypoint resources are the run's bundle; no placement group, no agent)")

    def _job(self) -> dict[str, Any]:
        """Ray's record of this run's job (the Jobs REST API)."""
        from runyard.errors import ComputeTargetException

        try:
            return self.compute.job_status(self.run.run_id)
        except ComputeTargetException as e:
            raise failed(f"cannot read the run's Ray job: {e}") from e

    # -- Starting -----------------------------------------------------------------------
    def prepare(self) -> Plan:
        if self.direct:
            return self._prepare_direct()
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        run = self.run
        bundles, self.occupied = self._bundles()
        agent_class = ray.remote(NodeAgent)
        for index, bundle in enumerate(bundles):
            strategy = PlacementGroupSchedulingStrategy(
                self.placement, placement_group_bundle_index=index)
            self.agents.append(agent_class.options(
                scheduling_strategy=strategy, num_cpus=bundle["CPU"],
                num_gpus=bundle.get("GPU", 0), max_restarts=0,
                name=f"runyard-{run.run_id}-node-{index}").remote(
                    str(run.ws.path), run.ws.store_url, run.ws.artifact_url, run.run_id,
                    index))
        listening = [sum(1 for p in self._plan.processes if p.listens and p.node_rank == rank)
                     for rank in self.occupied]
        self.nodes = self._call([agent.where.remote(count) for agent, count
                                 in zip(self.agents, listening, strict=True)], 300)
        self._say_nodes()
        # each node once: its environment, working directory and data
        problems = self._call([agent.prepare.remote(run.config, run.run["snapshot_id"])
                               for agent in self.agents], AGENT_CALL_TIMEOUT, watch=True)
        for index, problem in enumerate(problems):
            if problem is not None:
                status, reason = problem
                raise StopRun(status, reason if len(self.agents) == 1
                              else f"node {index}: {reason}")
        # each process that listens gets a port its own node found free, in rank order
        free = {node_rank: iter(node["ports"])
                for node_rank, node in zip(self.occupied, self.nodes, strict=True)}
        return self._bind([next(free[p.node_rank]) for p in self._plan.processes
                           if p.listens and p.node_rank in free])

    def _prepare_direct(self) -> Plan:
        from runyard._local import free_ports

        run = self.run
        self.local = NodeAgent(str(run.ws.path), run.ws.store_url, run.ws.artifact_url,
                               run.run_id, 0, workspace=run.ws)
        self.local.node_id = self.nodes[0]["node_id"]
        self._say_nodes()
        problem = self.local.prepare(run.spec, run.run["snapshot_id"])
        if problem is not None:
            raise StopRun(*problem)
        return self._bind(free_ports(sum(1 for p in self._plan.processes if p.listens)))

    def _say_nodes(self) -> None:
        for index, node in enumerate(self.nodes):
            self.run.say(f"node {index}: ray node {node['node_id'][:12]} at {node['ip']}, "
                         f"{'driver' if self.direct else 'agent'} pid {node['pid']}")

    def _bind(self, ports: list[int]) -> Plan:
        """The submitted plan bound to the nodes the run got: node rank r of the plan at
        the address of the node that holds its bundle."""
        plan = self._plan
        hosts = [self.nodes[0]["ip"]] * plan.nodes_needed
        for index, node_rank in enumerate(self.occupied):
            if node_rank < len(hosts):
                hosts[node_rank] = self.nodes[index]["ip"]
        self.plan = plan.bind(hosts, ports)
        self.run.say(f"plan: bound to {len(self.nodes)} node(s): "
                     f"{', '.join(sorted(set(hosts)))}")
        return self.plan

    # -- Running ------------------------------------------------------------------------
    def start(self, plan: Plan) -> None:
        run = self.run
        self.plan = plan
        self.states = ({None: None} if plan.launcher == "mpirun"
                       else {spec.rank: None for spec in plan.processes})
        self.started = True
        script = run.spec.script
        run.say(f"starting {plan.world_size} process(es) ({plan.kind}) on "
                f"{len(self.nodes)} node(s): {script} "
                f"{' '.join(run.spec.arguments)}".rstrip())
        env = run.process_environment()
        plan_json = plan.to_json()
        if self.local is not None:
            self.local.start(script, plan_json, env, self.occupied[0])
            self.watched_at = time.monotonic()
            return
        self._call([agent.start.remote(script, plan_json, env, node_rank)
                    for agent, node_rank in zip(self.agents, self.occupied, strict=True)],
                   AGENT_CALL_TIMEOUT, watch=True)

    def poll(self) -> Outcome | None:
        from runyard.compute._process_group import outcome_of

        plan = self.plan
        assert plan is not None, "polled after start"
        if self.local is not None:
            states = [self.local.poll()]
            self._watch_direct_job()
        else:
            states = self._call([agent.poll.remote() for agent in self.agents], 60)
        for rank, returncode in (state for node in states for state in node):
            if rank in self.states:
                self.states[rank] = returncode
        specs: dict[int | None, ProcessSpec | None] = {None: None}
        specs.update({spec.rank: spec for spec in plan.processes})
        outcome, self.decided_at = outcome_of(
            plan, ["python", self.run.spec.script], self.run.logs,
            [(specs[rank], code) for rank, code in self.states.items()], self.decided_at)
        return outcome

    def _watch_direct_job(self) -> None:
        """A direct run's node is its job's: once Ray no longer runs the job (the node
        died, or the job was stopped), the run fails naming the node."""
        now = time.monotonic()
        if now - self.watched_at < DIRECT_WATCH_SECONDS:
            return
        self.watched_at = now
        from runyard.errors import ComputeTargetException

        try:
            job = self.compute.job_status(self.run.run_id)
        except ComputeTargetException as e:
            self.run.say(f"could not read the run's Ray job: {e}")
            return
        if job.get("status") not in ("RUNNING", None):
            node = self.nodes[0]
            self.dead_agents.add(0)
            raise failed(f"node 0 (ray node {node['node_id'][:12]} at {node['ip']}) died "
                         f"during the run: Ray says its job is {job.get('status')}: "
                         f"{str(job.get('message') or '').strip()[:300]}")

    def _call(self, refs: list[Any], timeout: float, watch: bool = False) -> list[Any]:
        """ray.get, naming the node when an agent died (its node died); with `watch`,
        a cancel is seen while the agents work (preparing a node may take minutes)."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        limit, deadline = timeout, time.monotonic() + timeout
        pending = list(refs)
        while watch and pending and time.monotonic() < deadline:
            self.run.check_cancel()
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.25)
        timeout = max(deadline - time.monotonic(), 1.0)
        try:
            return list(ray.get(refs, timeout=timeout))
        except RayActorError:
            for index, ref in enumerate(refs):
                try:
                    ray.get(ref, timeout=5)
                except (RayActorError, GetTimeoutError) as e:
                    raise failed(self._node_died(index, e)) from e
            raise
        except GetTimeoutError as e:
            raise failed(f"the nodes did not answer within {limit:.0f} s") from e

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

    # -- Finalizing ---------------------------------------------------------------------
    def stop(self) -> int:
        """Every live node's agent stops its processes; a dead node has none left (a
        direct run's processes are the driver's own: it stops them, its node dead or
        not)."""
        if self.local is not None:
            return self.local.stop(KILL_GRACE_SECONDS)
        import ray

        left = 0
        for index, agent in enumerate(self.agents):
            if index in self.dead_agents:
                continue
            try:
                left += int(ray.get(agent.stop.remote(KILL_GRACE_SECONDS),
                                    timeout=KILL_GRACE_SECONDS + 30))
            except Exception as e:  # noqa: BLE001 - a dead node has nothing left to stop
                self.run.say(f"node {index}: could not stop its processes: {e}")
                self.dead_agents.add(index)
        return left

    def collect_outputs(self) -> None:
        """Each node's agent uploads its ./outputs, node 0 first; names an earlier node
        uploaded are kept."""
        if self.local is not None:
            self.run.store.add_files(self.run.run_id, self.local.upload_outputs([]))
            return
        import ray

        taken: list[str] = []
        for index, agent in enumerate(self.agents):
            if index in self.dead_agents:
                continue
            try:
                uploaded = ray.get(agent.upload_outputs.remote(taken), timeout=600)
            except Exception as e:  # noqa: BLE001 - the other nodes' outputs still count
                self.run.say(f"node {index}: could not upload its outputs: {e}")
                continue
            self.run.store.add_files(self.run.run_id, uploaded)
            taken.extend(name for name, _ in uploaded)

    def release(self) -> None:
        if self.local is not None:
            self.local.release()
        if self.connected:
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
                self.run.say(f"could not release the cluster's resources: {e}")
        if not (self.connected or self.direct):  # nothing of the cluster's was used
            return
        try:
            self.compute.scale_down_idle()
        except Exception as e:  # noqa: BLE001 - scaling down is best effort
            self.run.say(f"scale down: {e}")


def _describe(bundles: list[dict[str, float]]) -> str:
    parts = ", ".join(f"{value:g} {key}" for key, value in bundles[0].items())
    if len(bundles) == 1:
        return f"1 node with {parts} free"
    return f"{len(bundles)} separate nodes with {parts} free each"
