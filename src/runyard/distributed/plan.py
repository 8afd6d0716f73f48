"""The process plan: which processes a run has, and what each one is told.

`make_plan` is a pure function of the distributed configuration, the nodes' addresses and
the ports it may use: no process is started, no socket opened. Whoever launches the
processes (the local supervisor now, a Ray cluster later) follows the plan.

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from runyard.errors import ValidationError


@dataclass(frozen=True)
class ProcessSpec:
    role: str            # driver | chief | worker | ps
    index: int           # within its role
    rank: int            # within the run
    local_rank: int      # within its node
    node_rank: int
    host: str
    port: int | None
    env: dict[str, str] = field(default_factory=dict)
    decides: bool = False      # its success decides the run's
    is_ps: bool = False
    serves: bool = False       # a server that never ends by itself: stopped once decided

    @property
    def name(self) -> str:
        return f"{self.role}_{self.index}"

    @property
    def log_name(self) -> str:
        return f"logs/{self.name}.txt"

    @property
    def label(self) -> str:
        return f"{self.role} {self.index} (rank {self.rank})"


@dataclass(frozen=True)
class Plan:
    kind: str                   # single | tensorflow | mpi | pytorch
    processes: tuple[ProcessSpec, ...]
    node_count: int
    launcher: str = "direct"    # direct: one process each; mpirun: one mpirun for all

    @property
    def world_size(self) -> int:
        return len(self.processes)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "launcher": self.launcher, "node_count": self.node_count,
                "processes": [{"role": p.role, "index": p.index, "rank": p.rank,
                               "local_rank": p.local_rank, "node_rank": p.node_rank,
                               "host": p.host, "port": p.port, "decides": p.decides,
                               "is_ps": p.is_ps, "serves": p.serves, "env": p.env}
                              for p in self.processes]}


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


def _place(count: int, hosts: Sequence[str]) -> list[tuple[int, int]]:
    """(node_rank, local_rank) for `count` processes spread evenly over the nodes, in
    blocks: ranks 0..k-1 on node 0, the next k on node 1, ..."""
    per_node = -(-count // len(hosts))
    return [(i // per_node, i % per_node) for i in range(count)]


def _common(rank: int, world: int, local_rank: int, node_rank: int, role: str,
            index: int) -> dict[str, str]:
    return {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(local_rank),
            "NODE_RANK": str(node_rank), "RUNYARD_ROLE": role,
            "RUNYARD_ROLE_INDEX": str(index)}


def make_plan(config: dict[str, Any] | None, hosts: Sequence[str],
              ports: Iterator[int]) -> Plan:
    """The processes of a run with distributed configuration `config` (the dict form of a
    Tensorflow/Mpi/PyTorchConfiguration, or None for one process) on `hosts` (one address
    per node), taking ports from `ports` as needed."""
    if not hosts:
        raise ValidationError("a plan needs at least one node")
    if config is None:
        return Plan("single", (ProcessSpec("driver", 0, 0, 0, 0, hosts[0], None,
                                           _common(0, 1, 0, 0, "driver", 0), decides=True),),
                    node_count=1)
    framework = config["framework"]
    if framework == "tensorflow":
        return _tensorflow(config, hosts, ports)
    if framework == "mpi":
        return _mpi(config, hosts)
    if framework == "pytorch":
        return _pytorch(config, hosts, ports)
    raise ValidationError(f"unknown distributed framework {framework!r}")


def _tensorflow(config: dict[str, Any], hosts: Sequence[str], ports: Iterator[int]) -> Plan:
    roles = (["chief"] * config["chief_count"] + ["worker"] * config["worker_count"]
             + ["ps"] * config["parameter_server_count"])
    places = _place(len(roles), hosts)
    addresses: list[str] = []
    tasks: list[tuple[str, int, int, int, int]] = []  # role, index, node, local, port
    counters: dict[str, int] = {}
    for (node, local), role in zip(places, roles, strict=True):
        index = counters.get(role, 0)
        counters[role] = index + 1
        port = next(ports)
        addresses.append(f"{hosts[node]}:{port}")
        tasks.append((role, index, node, local, port))
    cluster: dict[str, list[str]] = {}
    for (role, *_), address in zip(tasks, addresses, strict=True):
        cluster.setdefault(role, []).append(address)
    with_ps = config["parameter_server_count"] > 0
    decider = "chief" if config["chief_count"] else "worker"
    processes = []
    for rank, (role, index, node, local, port) in enumerate(tasks):
        tf_config: dict[str, Any] = {"cluster": cluster, "task": {"type": role, "index": index}}
        if with_ps:
            tf_config["environment"] = "cloud"
        env = _common(rank, len(tasks), local, node, role, index)
        env["TF_CONFIG"] = json.dumps(tf_config)
        # With a chief and parameter servers (TF2's ParameterServerStrategy), workers are
        # servers too: they join() until stopped, as Kubeflow stops them once the chief
        # has succeeded.
        serves = role == "ps" or (with_ps and decider == "chief" and role == "worker")
        processes.append(ProcessSpec(role, index, rank, local, node, hosts[node], port, env,
                                     decides=role == decider and index == 0,
                                     is_ps=role == "ps", serves=serves))
    return Plan("tensorflow", tuple(processes), node_count=len({p.node_rank
                                                                 for p in processes}))


def _mpi(config: dict[str, Any], hosts: Sequence[str]) -> Plan:
    nodes, per_node = config["node_count"], config["process_count_per_node"]
    if nodes > len(hosts):
        raise ValidationError(f"MPI asks for {nodes} nodes and the compute has {len(hosts)}")
    world = nodes * per_node
    processes = tuple(
        ProcessSpec("worker", rank, rank, rank % per_node, rank // per_node,
                    hosts[rank // per_node], None,
                    _common(rank, world, rank % per_node, rank // per_node, "worker", rank),
                    decides=True)
        for rank in range(world))
    return Plan("mpi", processes, node_count=nodes, launcher="mpirun")


def _pytorch(config: dict[str, Any], hosts: Sequence[str], ports: Iterator[int]) -> Plan:
    nodes = config["node_count"]
    if nodes > len(hosts):
        raise ValidationError(f"PyTorch asks for {nodes} nodes and the compute has "
                              f"{len(hosts)}")
    world = config["process_count"] or nodes
    per_node = world // nodes
    master_port = next(ports)
    processes = []
    for rank in range(world):
        node, local = rank // per_node, rank % per_node
        env = _common(rank, world, local, node, "worker", rank)
        env.update({"MASTER_ADDR": hosts[0], "MASTER_PORT": str(master_port),
                    "LOCAL_WORLD_SIZE": str(per_node), "GROUP_RANK": str(node),
                    "ROLE_RANK": str(rank), "ROLE_WORLD_SIZE": str(world),
                    "RUNYARD_TORCH_BACKEND": config["backend"]})
        processes.append(ProcessSpec("worker", rank, rank, local, node, hosts[node],
                                     master_port if rank == 0 else None, env, decides=True))
    return Plan("pytorch", tuple(processes), node_count=nodes)
