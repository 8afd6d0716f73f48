"""The process plan: which processes a run has, and what each one is told.

A run's plan is made once, at submit (`plan_for`, a pure function of the distributed
configuration: kinds, roles, ranks, node indices, the launcher), travels inside the run's
RunSpec (`Plan.to_json`/`from_json`), and is bound at Starting to the nodes the run holds
(`Plan.bind(addresses, ports)`: the real addresses and ports, and what depends on them,
TF_CONFIG and MASTER_ADDR/MASTER_PORT) without being made again. No process is started,
no socket opened here. `make_plan(config, hosts, ports)` is both steps at once.

Every process gets RANK, WORLD_SIZE, LOCAL_RANK, NODE_RANK, RUNYARD_ROLE and
RUNYARD_ROLE_INDEX, and its own log, `logs/<role>_<index>.txt`; TensorFlow processes get
TF_CONFIG, PyTorch ones what torchrun sets, MPI ranks what mpirun sets (the plan says
which ranks there will be; `mpirun` starts them).

Resources (`node_loads`): processes on one node share that node's CPUs and GPUs, as v1 ran
them; a parameter server needs no GPU (it holds variables and serves them, on the CPU), every
other role may use one.

Completion: the run succeeds when the deciding process (the chief, else worker 0; for MPI
and PyTorch every process) exits 0; any other process that fails first fails the run;
servers (parameter servers, and the workers of a chief + ps cluster) never decide and are
stopped once the run is decided; other processes get `STRAGGLER_SECONDS` to end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from runyard.errors import ValidationError

# the environment variables `bind` sets: they name the nodes' addresses and ports
BOUND_VARIABLES = ("TF_CONFIG", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class ProcessSpec:
    role: str            # driver | chief | worker | ps
    index: int           # within its role
    rank: int            # within the run
    local_rank: int      # within its node
    node_rank: int       # the node's index in the plan (bind's addresses[node_rank])
    host: str            # the node's address once bound ("" before)
    port: int | None     # the port it listens on once bound (None: none, or not bound)
    env: dict[str, str] = field(default_factory=dict)
    decides: bool = False      # its success decides the run's
    is_ps: bool = False
    serves: bool = False       # a server that never ends by itself: stopped once decided
    listens: bool = False      # it needs a port of its node (bind gives it one)

    @property
    def name(self) -> str:
        return f"{self.role}_{self.index}"

    @property
    def log_name(self) -> str:
        return f"logs/{self.name}.txt"

    @property
    def label(self) -> str:
        return f"{self.role} {self.index} (rank {self.rank})"


_PROCESS_KEYS = tuple(f.name for f in fields(ProcessSpec))
_PLAN_KEYS = ("kind", "launcher", "node_count", "processes")


@dataclass(frozen=True)
class Plan:
    kind: str                   # single | tensorflow | mpi | pytorch
    processes: tuple[ProcessSpec, ...]
    node_count: int
    launcher: str = "direct"    # direct: one process each; mpirun: one mpirun for all

    @property
    def world_size(self) -> int:
        return len(self.processes)

    @property
    def bound(self) -> bool:
        """Whether the plan names its nodes' real addresses (and ports): `bind` did."""
        return all(p.host for p in self.processes)

    @property
    def nodes_needed(self) -> int:
        """How many node addresses `bind` needs: one per node index the plan uses."""
        return max(p.node_rank for p in self.processes) + 1

    def bind(self, addresses: Sequence[str], ports: Iterable[int] = ()) -> Plan:
        """This plan on real nodes: process on node index i runs at `addresses[i]`, each
        process that listens takes the next of `ports` (in rank order), and TF_CONFIG,
        MASTER_ADDR and MASTER_PORT are filled in from them. Pure: the shape (kinds,
        ranks, roles, node indices) is kept as made; binding again rebinds."""
        if len(addresses) < self.nodes_needed:
            raise ValidationError(f"this {self.kind} plan runs on {self.nodes_needed} "
                                  f"node(s) and {len(addresses)} address(es) were given")
        taken = iter(ports)
        placed: list[ProcessSpec] = []
        for process in self.processes:
            port = None
            if process.listens:
                port = next(taken, None)
                if port is None:
                    raise ValidationError(f"not enough ports to bind the {self.kind} plan: "
                                          f"{process.label} needs one")
            env = {k: v for k, v in process.env.items() if k not in BOUND_VARIABLES}
            placed.append(replace(process, host=str(addresses[process.node_rank]),
                                  port=port, env=env))
        if self.kind == "tensorflow":
            placed = _bind_tensorflow(placed)
        elif self.kind == "pytorch":
            master = placed[0]
            for process in placed:
                process.env.update({"MASTER_ADDR": master.host,
                                    "MASTER_PORT": str(master.port)})
        return replace(self, processes=tuple(placed))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "launcher": self.launcher, "node_count": self.node_count,
                "processes": [{key: (dict(p.env) if key == "env" else getattr(p, key))
                               for key in _PROCESS_KEYS} for p in self.processes]}

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON-ready data (what a RunSpec stores)."""
        return self.to_dict()

    @classmethod
    def from_json(cls, data: Any) -> Plan:
        """The plan `to_json` wrote; keys missing or not known are an error naming them."""
        if not isinstance(data, dict):
            raise ValidationError(f"a plan is a JSON object, got {type(data).__name__}")
        _check_keys("plan", data, required=_PLAN_KEYS)
        raw = data["processes"]
        if not isinstance(raw, list) or not raw:
            raise ValidationError("a plan's processes are a non-empty list")
        processes = []
        for position, process in enumerate(raw):
            if not isinstance(process, dict):
                raise ValidationError(f"plan process {position} is not a JSON object")
            _check_keys(f"plan process {position}", process,
                        required=("role", "index", "rank", "local_rank", "node_rank", "host",
                                  "port"), optional=_PROCESS_KEYS)
            processes.append(ProcessSpec(**{**process,
                                            "env": dict(process.get("env") or {})}))
        return cls(str(data["kind"]), tuple(processes), int(data["node_count"]),
                   str(data["launcher"]))


def _check_keys(what: str, data: dict[str, Any], *, required: Sequence[str],
                optional: Sequence[str] = ()) -> None:
    missing = [key for key in required if key not in data]
    unknown = sorted(key for key in data if key not in required and key not in optional)
    if missing or unknown:
        said = [f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(unknown)}" if unknown else ""]
        raise ValidationError(f"{what}: {'; '.join(s for s in said if s)}",
                              missing=missing, unknown=unknown)


def _bind_tensorflow(processes: list[ProcessSpec]) -> list[ProcessSpec]:
    cluster: dict[str, list[str]] = {}
    for process in processes:
        cluster.setdefault(process.role, []).append(f"{process.host}:{process.port}")
    with_ps = any(p.is_ps for p in processes)
    for process in processes:
        tf_config: dict[str, Any] = {"cluster": cluster,
                                     "task": {"type": process.role, "index": process.index}}
        if with_ps:
            tf_config["environment"] = "cloud"
        process.env["TF_CONFIG"] = json.dumps(tf_config)
    return processes


# roles that never need a GPU: v1 ran parameter servers on the CPU of a GPU node
GPU_FREE_ROLES = frozenset({"ps"})


@dataclass(frozen=True)
class NodeLoad:
    """What the processes of one node of a plan ask of it."""

    processes: int       # every process on the node: they share its CPUs
    gpu_processes: int   # those whose role may use a GPU (not parameter servers)


def node_loads(plan: Plan) -> list[NodeLoad]:
    """One NodeLoad per node of the plan, by node rank (nodes without a process count 0)."""
    count = max([plan.node_count, *(p.node_rank + 1 for p in plan.processes)])
    processes = [0] * count
    gpu = [0] * count
    for process in plan.processes:
        processes[process.node_rank] += 1
        if process.role not in GPU_FREE_ROLES:
            gpu[process.node_rank] += 1
    return [NodeLoad(p, g) for p, g in zip(processes, gpu, strict=True)]


def _place(count: int, nodes: int) -> list[tuple[int, int]]:
    """(node_rank, local_rank) for `count` processes spread evenly over `nodes` nodes, in
    blocks: ranks 0..k-1 on node 0, the next k on node 1, ..."""
    per_node = -(-count // nodes)
    return [(i // per_node, i % per_node) for i in range(count)]


def _common(rank: int, world: int, local_rank: int, node_rank: int, role: str,
            index: int) -> dict[str, str]:
    return {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(local_rank),
            "NODE_RANK": str(node_rank), "RUNYARD_ROLE": role,
            "RUNYARD_ROLE_INDEX": str(index)}


def plan_node_count(config: dict[str, Any] | None) -> int:
    """The nodes a distributed configuration (its dict form) asks for (1 without one)."""
    return int((config or {}).get("node_count", 1))


def plan_for(config: dict[str, Any] | None, node_count: int | None = None) -> Plan:
    """The shape of the processes of a run with distributed configuration `config` (the
    dict form of a Tensorflow/Mpi/PyTorchConfiguration, or None for one process) on
    `node_count` nodes (default: the configuration's): made once, at submit, and bound
    to the run's nodes at Starting (`Plan.bind`)."""
    nodes = plan_node_count(config) if node_count is None else node_count
    if nodes < 1:
        raise ValidationError("a plan needs at least one node")
    if config is None:
        return Plan("single", (ProcessSpec("driver", 0, 0, 0, 0, "", None,
                                           _common(0, 1, 0, 0, "driver", 0), decides=True),),
                    node_count=1)
    framework = config["framework"]
    if framework == "tensorflow":
        return _tensorflow(config, nodes)
    if framework == "mpi":
        return _mpi(config, nodes)
    if framework == "pytorch":
        return _pytorch(config, nodes)
    raise ValidationError(f"unknown distributed framework {framework!r}")


def make_plan(config: dict[str, Any] | None, hosts: Sequence[str],
              ports: Iterator[int]) -> Plan:
    """The processes of a run with distributed configuration `config` on `hosts` (one
    address per node), taking ports from `ports` as needed: `plan_for` and `bind` at once."""
    if not hosts:
        raise ValidationError("a plan needs at least one node")
    return plan_for(config, len(hosts)).bind(hosts, ports)


def _tensorflow(config: dict[str, Any], nodes: int) -> Plan:
    roles = (["chief"] * config["chief_count"] + ["worker"] * config["worker_count"]
             + ["ps"] * config["parameter_server_count"])
    with_ps = config["parameter_server_count"] > 0
    decider = "chief" if config["chief_count"] else "worker"
    counters: dict[str, int] = {}
    processes = []
    for rank, ((node, local), role) in enumerate(zip(_place(len(roles), nodes), roles,
                                                     strict=True)):
        index = counters.get(role, 0)
        counters[role] = index + 1
        # With a chief and parameter servers (TF2's ParameterServerStrategy), workers are
        # servers too: they join() until stopped, as Kubeflow stops them once the chief
        # has succeeded.
        serves = role == "ps" or (with_ps and decider == "chief" and role == "worker")
        processes.append(ProcessSpec(role, index, rank, local, node, "", None,
                                     _common(rank, len(roles), local, node, role, index),
                                     decides=role == decider and index == 0,
                                     is_ps=role == "ps", serves=serves, listens=True))
    return Plan("tensorflow", tuple(processes), node_count=len({p.node_rank
                                                                 for p in processes}))


def _mpi(config: dict[str, Any], available: int) -> Plan:
    nodes, per_node = config["node_count"], config["process_count_per_node"]
    if nodes > available:
        raise ValidationError(f"MPI asks for {nodes} nodes and the compute has {available}")
    world = nodes * per_node
    processes = tuple(
        ProcessSpec("worker", rank, rank, rank % per_node, rank // per_node, "", None,
                    _common(rank, world, rank % per_node, rank // per_node, "worker", rank),
                    decides=True)
        for rank in range(world))
    return Plan("mpi", processes, node_count=nodes, launcher="mpirun")


def _pytorch(config: dict[str, Any], available: int) -> Plan:
    nodes = config["node_count"]
    if nodes > available:
        raise ValidationError(f"PyTorch asks for {nodes} nodes and the compute has "
                              f"{available}")
    world = config["process_count"] or nodes
    per_node = world // nodes
    processes = []
    for rank in range(world):
        node, local = rank // per_node, rank % per_node
        env = _common(rank, world, local, node, "worker", rank)
        env.update({"LOCAL_WORLD_SIZE": str(per_node), "GROUP_RANK": str(node),
                    "ROLE_RANK": str(rank), "ROLE_WORLD_SIZE": str(world),
                    "RUNYARD_TORCH_BACKEND": config["backend"]})
        processes.append(ProcessSpec("worker", rank, rank, local, node, "", None, env,
                                     decides=True, listens=rank == 0))
    return Plan("pytorch", tuple(processes), node_count=nodes)
