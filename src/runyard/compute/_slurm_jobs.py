"""Slurm jobs for runyard runs: the batch script, its job steps, and what Slurm says.

A run on a Slurm compute is one batch job (`sbatch --parsable`, `--no-requeue`, job name
`runyard-<run id>`) that holds the run's nodes, and one job step per process of the plan,
started by `srun --jobid=ID --overlap` from the run driver on the submit host (an MPI
plan: one step for every rank, `srun --mpi=pmix`, each rank told its RANK from
SLURM_PROCID). The driver watches the job (`squeue`, then `scontrol show job` once it
ended: without accounting there is no `sacct`) and ends it with `scancel`.

Invariants:
- Everything that reads Slurm's words is a pure function of text (`parse_records`,
  `parse_job`, `parse_gpus`, `time_limit_seconds`, `job_view`), tested as data; the thin
  wrappers only run a command and hand its output over.
- Every Slurm command goes through `slurm_command`: the environment is the caller's
  without the SLURM_/SBATCH_/SRUN_ variables of any job it runs in (so a driver started
  inside a job never adds its steps to that job), plus the compute's own (`SLURM_CONF`);
  a failing command becomes one runyard error from one table (`_ERRORS`): bad input the
  user can fix is a ValidationError, everything else a ComputeTargetException naming the
  command, its exit code and what Slurm said.
- A step started from the submit host gets the environment srun was started with
  (`--export=ALL`, Slurm's default), so each process's own variables (its rank,
  TF_CONFIG, its channel) are in `Step.env`; its output goes to its log file, written by
  the node (`--output`), so srun's own messages stay out of the training log.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard import _status
from runyard.distributed.plan import Plan, ProcessSpec, node_loads, plan_for
from runyard.errors import ComputeTargetException, ValidationError

COMMAND_TIMEOUT = 30.0
JOB_NAME_PREFIX = "runyard-"
BATCH_LOG = "logs/slurm_job.txt"        # the batch step's own output, in the run folder
RELEASE_SIGNAL = "USR1"                 # the batch step ends 0 on it: the job is COMPLETED

# The batch step holds the run's nodes until the driver releases it (`release`): the run's
# processes are job steps the driver starts. USR1 ends it 0 (the job COMPLETED); TERM, sent
# by scancel and at the time limit, ends it 143.
HOLD_BODY = f"""\
trap 'exit 0' {RELEASE_SIGNAL}
trap 'exit 143' TERM
echo "runyard: job $SLURM_JOB_ID holds $SLURM_JOB_NODELIST for run $RUNYARD_RUN_ID"
while :; do sleep 5 & wait $!; done
"""

# Every rank of a one-step launch (MPI, or a batch script's own step) is told what a
# runyard process gets, from what Slurm tells each task; its log and channel are named by
# its rank, as under mpirun (runyard.supervisor._group).
RANK_WRAPPER = r"""
r=$SLURM_PROCID
export RANK=$r WORLD_SIZE=$SLURM_NTASKS LOCAL_RANK=$SLURM_LOCALID
export NODE_RANK=$((r / RUNYARD_PER_NODE)) RUNYARD_ROLE=worker RUNYARD_ROLE_INDEX=$r
export RUNYARD_CHANNEL="$RUNYARD_CHANNEL_DIR/$r.bin"
exec "$@"
"""

_LEAKED_PREFIXES = ("SLURM_", "SLURMD_", "SBATCH_", "SRUN_", "SALLOC_")
_KEEP = frozenset({"SLURM_CONF"})


# -- running Slurm's commands -----------------------------------------------------------
# What a failing command printed → the runyard error for it (the first match wins).
_ERRORS: tuple[tuple[str, type[ComputeTargetException] | type[ValidationError], str], ...] = (
    ("Invalid partition name", ValidationError, "no such partition"),
    ("invalid partition specified", ValidationError, "no such partition"),
    ("Invalid account", ValidationError, "the account cannot use this partition"),
    ("Invalid --time specification", ValidationError, "time_limit is not a Slurm time"),
    ("Requested node configuration is not available", ValidationError,
     "no node of the partition can give what the run asks"),
    ("Invalid generic resource", ValidationError, "the nodes have no such GPUs or gres"),
    ("Invalid qos", ValidationError, "no such QOS"),
    ("Unable to contact slurm controller", ComputeTargetException,
     "the Slurm controller does not answer"),
    ("Zero Bytes were transmitted or received", ComputeTargetException,
     "the Slurm controller does not answer"),
    ("Munge", ComputeTargetException, "munge authentication failed"),
    ("Invalid job id specified", ComputeTargetException, "Slurm does not know the job"),
)


def command_environment(extra: Mapping[str, str] | None = None,
                        base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (os.environ by default) without the variables of a Slurm job it may run in
    (SLURM_JOB_ID would make srun add steps to that job), with `extra` on top."""
    merged = {k: v for k, v in (os.environ if base is None else base).items()
              if k in _KEEP or not k.startswith(_LEAKED_PREFIXES)}
    merged.update(extra or {})
    return merged


def slurm_command(argv: Sequence[str], env: Mapping[str, str] | None = None, *,
                  input: str | None = None, timeout: float = COMMAND_TIMEOUT,
                  check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a Slurm client command with `env` (the compute's: SLURM_CONF) over this
    process's environment; a failure (with `check`), a missing program or a command that
    hangs raises the error `_ERRORS` gives it."""
    command = list(argv)
    try:
        result = subprocess.run(command, env=command_environment(env), input=input,
                                stdin=None if input is not None else subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as e:
        raise ComputeTargetException(
            f"{command[0]} not found: the Slurm compute needs Slurm's client programs "
            f"(sbatch, srun, squeue, scontrol, scancel, sinfo) on this machine "
            f"(Debian/Ubuntu: apt-get install slurm-client)", command=command) from e
    except subprocess.TimeoutExpired as e:
        raise ComputeTargetException(
            f"{' '.join(command)} did not answer within {timeout:g} s (is the Slurm "
            f"controller up? scontrol ping)", command=command) from e
    if check and result.returncode != 0:
        raise command_error(command, result.returncode, result.stderr or result.stdout)
    return result


def command_error(command: Sequence[str], returncode: int,
                  said: str) -> ComputeTargetException | ValidationError:
    """The runyard error for a Slurm command that exited `returncode` saying `said`."""
    said = " ".join(line.strip() for line in said.strip().splitlines() if line.strip())
    for needle, kind, meaning in _ERRORS:
        if needle.lower() in said.lower():
            return kind(f"{command[0]}: {meaning}: {said}", command=list(command),
                        returncode=returncode)
    return ComputeTargetException(f"{' '.join(command)} exited {returncode}: "
                                  f"{said or '(no output)'}", command=list(command),
                                  returncode=returncode)


# -- Slurm's words as data --------------------------------------------------------------
_KEY = re.compile(r"^[A-Z][A-Za-z0-9_:/]*=")


def parse_records(text: str) -> list[dict[str, str]]:
    """`scontrol show ... --oneliner` output: one dict per line. A value may hold spaces
    (`OS=Linux 6.1 #1 SMP`, a node's `Reason=...`): words that do not start a `Key=`
    belong to the value before them."""
    records = []
    for line in text.splitlines():
        record: dict[str, str] = {}
        last: str | None = None
        for word in line.split():
            if _KEY.match(word):
                last, value = word.split("=", 1)
                record[last] = value
            elif last is not None:
                record[last] += " " + word
        if record:
            records.append(record)
    return records


def parse_gpus(gres: str | None) -> int:
    """How many GPUs a node's `Gres` names: `gpu:4`, `gpu:a100:4(S:0-1)`, `gpu:2,mps:100`;
    0 for `(null)` or none."""
    total = 0
    for item in re.split(r",(?![^(]*\))", gres or ""):
        parts = re.sub(r"\(.*\)$", "", item.strip()).split(":")
        if parts[0] != "gpu":
            continue
        count = parts[-1] if len(parts) > 1 else "1"
        total += int(count) if count.isdigit() else 1
    return total


_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def time_limit_seconds(value: str | None) -> int | None:
    """A Slurm time (`30`, `30:00`, `1:30:00`, `2-12`, `2-12:30:00`) in seconds; None
    for UNLIMITED, INFINITE, NONE or nothing. Raises ValidationError on anything else."""
    if value is None or value.strip().upper() in ("", "UNLIMITED", "INFINITE", "NONE"):
        return None
    found = _TIME.match(value.strip())
    if not found:
        raise ValidationError(
            f"time_limit {value!r} is not a Slurm time: give minutes (90), MM:SS, "
            f"HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS", value=value)
    days, first, second, third = found.groups()
    numbers = [int(first), *(int(x) for x in (second, third) if x is not None)]
    if days is not None:    # days-hours[:minutes[:seconds]]
        hours, minutes, rest = [*numbers, 0, 0][:3]
        return ((int(days) * 24 + hours) * 60 + minutes) * 60 + rest
    if len(numbers) == 1:   # minutes
        return numbers[0] * 60
    if len(numbers) == 2:   # minutes:seconds
        return numbers[0] * 60 + numbers[1]
    return numbers[0] * 3600 + numbers[1] * 60 + numbers[2]   # hours:minutes:seconds


def checked_time_limit(value: int | str | None) -> str | None:
    """attach_configuration's `time_limit` as sbatch's `--time` takes it: minutes as an
    int, or a Slurm time string; None for the partition's limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"time_limit must be minutes (an int) or a Slurm time such as "
                              f"'2:00:00', got {value!r}", value=value)
    if isinstance(value, int):
        if value < 1:
            raise ValidationError(f"time_limit must be at least 1 minute, got {value}",
                                  value=value)
        return str(value)
    if value.strip().upper() in ("UNLIMITED", "INFINITE"):
        return "UNLIMITED"
    seconds = time_limit_seconds(value)
    if not seconds:
        raise ValidationError(f"time_limit must be longer than 0, got {value!r}", value=value)
    return value.strip()


@dataclass(frozen=True)
class NodeInfo:
    """One Slurm node as `scontrol show node` describes it."""

    name: str
    address: str
    state: str                  # Slurm's, e.g. IDLE, MIXED, ALLOCATED, DOWN+NOT_RESPONDING
    cpus: int
    cpus_allocated: int
    memory_mb: int
    gpus: int
    partitions: tuple[str, ...]
    reason: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> NodeInfo:
        reason = record.get("Reason")
        return cls(name=record["NodeName"], address=record.get("NodeAddr") or record["NodeName"],
                   state=record.get("State", "UNKNOWN"), cpus=_int(record.get("CPUTot")),
                   cpus_allocated=_int(record.get("CPUAlloc")),
                   memory_mb=_int(record.get("RealMemory")),
                   gpus=parse_gpus(record.get("Gres")),
                   partitions=tuple(p for p in record.get("Partitions", "").split(",") if p),
                   reason=reason if reason and reason != "(null)" else None)

    @property
    def unusable(self) -> bool:
        """DOWN, DRAINED, FAIL or not responding: Slurm starts nothing on it."""
        flags = set(re.split(r"[+*~#!%$@^-]", self.state.upper()))
        return bool(flags & {"DOWN", "DRAIN", "DRAINED", "FAIL", "FAILING",
                             "NOT_RESPONDING", "INVAL", "UNKNOWN", "FUTURE"})

    @property
    def v1_state(self) -> str:
        """v1's node state: idle, running, preparing (powering up), leaving (draining,
        powering down) or unusable."""
        state = self.state.upper()
        if "POWERING_UP" in state or "POWER_UP" in state:
            return "preparing"
        if "DRAINING" in state or "POWERING_DOWN" in state or "COMPLETING" in state:
            return "leaving"
        if self.unusable:
            return "unusable"
        if state.startswith(("ALLOC", "MIX")) or self.cpus_allocated:
            return "running"
        return "idle"


@dataclass(frozen=True)
class PartitionInfo:
    """A partition as `scontrol show partition` describes it."""

    name: str
    nodes: str                  # a hostlist expression, node[1-4]
    total_nodes: int
    total_cpus: int
    state: str                  # UP, DOWN, DRAIN, INACTIVE
    default: bool
    max_nodes: int | None       # None: UNLIMITED
    max_time_seconds: int | None
    max_time: str

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> PartitionInfo:
        max_nodes = record.get("MaxNodes", "UNLIMITED")
        return cls(name=record["PartitionName"], nodes=record.get("Nodes", ""),
                   total_nodes=_int(record.get("TotalNodes")),
                   total_cpus=_int(record.get("TotalCPUs")),
                   state=record.get("State", "UP"), default=record.get("Default") == "YES",
                   max_nodes=int(max_nodes) if max_nodes.isdigit() else None,
                   max_time_seconds=time_limit_seconds(record.get("MaxTime")),
                   max_time=record.get("MaxTime", "UNLIMITED"))


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def partitions(env: Mapping[str, str] | None = None) -> list[PartitionInfo]:
    """Every partition the cluster has (`scontrol show partition`)."""
    out = slurm_command(["scontrol", "show", "partition", "--oneliner"], env).stdout
    return [PartitionInfo.from_record(r) for r in parse_records(out) if "PartitionName" in r]


def nodes(env: Mapping[str, str] | None = None, names: str | None = None) -> list[NodeInfo]:
    """The nodes `names` (a hostlist expression; all of them by default) as `scontrol show
    node` describes them."""
    argv = ["scontrol", "show", "node", "--oneliner", *([names] if names else [])]
    out = slurm_command(argv, env).stdout
    return [NodeInfo.from_record(r) for r in parse_records(out) if "NodeName" in r]


def choose_partition(found: Sequence[PartitionInfo], name: str | None) -> PartitionInfo:
    """Partition `name`, or the default one; a ValidationError names the partitions."""
    names = ", ".join(p.name for p in found) or "none"
    for partition in found:
        if (name is None and partition.default) or partition.name == name:
            return partition
    if name is None:
        raise ValidationError(f"the Slurm cluster has no default partition; give one "
                              f"(partition=...): {names}")
    raise ValidationError(f"the Slurm cluster has no partition {name!r}; it has: {names}",
                          name=name, valid=[p.name for p in found])


def hostnames(expression: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The node names of a hostlist expression (`node[1-3]`), in Slurm's order
    (`scontrol show hostnames`)."""
    out = slurm_command(["scontrol", "show", "hostnames", expression], env).stdout
    return out.split()


def node_addresses(names: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
    """Each node's address (NodeAddr) by its name, in the order given: what processes on
    other nodes connect to (TF_CONFIG, MASTER_ADDR)."""
    known = {node.name: node.address for node in nodes(env, ",".join(names))}
    return [known.get(name, name) for name in names]


# -- the batch job ----------------------------------------------------------------------
@dataclass(frozen=True)
class JobShape:
    """What a run's plan asks of Slurm: nodes, processes on the busiest node, and the
    processes on it that may use a GPU (parameter servers need none)."""

    nodes: int
    tasks_per_node: int
    gpu_tasks_per_node: int

    @classmethod
    def of_plan(cls, plan: Plan) -> JobShape:
        loads = [load for load in node_loads(plan) if load.processes]
        return cls(nodes=len(loads), tasks_per_node=max(load.processes for load in loads),
                   gpu_tasks_per_node=max(load.gpu_processes for load in loads))

    @classmethod
    def of_config(cls, distributed: dict[str, Any] | None) -> JobShape:
        """The shape of the plan a distributed configuration (its dict form) makes."""
        return cls.of_plan(plan_for(distributed))


@dataclass(frozen=True)
class JobRequest:
    """Everything the batch script says: one run's job."""

    run_id: str
    shape: JobShape
    workdir: Path
    output: Path                            # the batch step's own log
    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None
    extra_args: tuple[str, ...] = ()
    gpus_per_node: int = 0                  # --gres=gpu:N (0: none asked)
    cpus_per_node: int | None = None        # the nodes' CPUs, when known: tasks beyond share
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def job_name(self) -> str:
        return job_name(self.run_id)

    @property
    def tasks_per_node(self) -> int:
        """Tasks the job asks per node: the plan's, at most the node's CPUs (the rest share
        them through `--overlap`d steps, as v1 ran more processes than cores)."""
        if self.cpus_per_node:
            return max(1, min(self.shape.tasks_per_node, self.cpus_per_node))
        return self.shape.tasks_per_node

    def sbatch_options(self) -> list[str]:
        options = [f"--job-name={self.job_name}", f"--nodes={self.shape.nodes}",
                   f"--ntasks-per-node={self.tasks_per_node}", "--no-requeue",
                   f"--chdir={self.workdir}", f"--output={self.output}",
                   f"--error={self.output}", "--open-mode=append"]
        if self.partition:
            options.append(f"--partition={self.partition}")
        if self.account:
            options.append(f"--account={self.account}")
        if self.time_limit:
            options.append(f"--time={self.time_limit}")
        if self.gpus_per_node:
            options.append(f"--gres=gpu:{self.gpus_per_node}")
        return [*options, *self.extra_args]


def job_name(run_id: str) -> str:
    return f"{JOB_NAME_PREFIX}{run_id}"


def batch_script(request: JobRequest, body: str = HOLD_BODY) -> str:
    """The sbatch script of a run: `#SBATCH` lines from the request, the environment
    exported, then `body` (by default: hold the nodes until released)."""
    lines = ["#!/bin/sh", f"# runyard run {request.run_id}"]
    lines += [f"#SBATCH {shlex.quote(option)}" for option in request.sbatch_options()]
    lines += [f"export {name}={shlex.quote(value)}"
              for name, value in sorted(request.environment.items()) if _is_name(name)]
    return "\n".join(lines) + "\n" + body


def _is_name(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None


def submit(script: str, env: Mapping[str, str] | None = None) -> str:
    """Submit a batch script (`sbatch --parsable`, read from stdin); the job id."""
    out = slurm_command(["sbatch", "--parsable"], env, input=script).stdout.strip()
    job_id = out.split(";")[0].strip()
    if not job_id.isdigit():
        raise ComputeTargetException(f"sbatch --parsable printed {out!r}, not a job id")
    return job_id


# -- the job steps ----------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One job step: `argv` (srun ...) started with `env`, for the plan's `ranks`."""

    name: str                       # the step's name in Slurm (squeue --steps)
    argv: tuple[str, ...]
    env: dict[str, str]
    ranks: tuple[int, ...]
    nodes: tuple[str, ...]          # Slurm node names it runs on
    logs: tuple[str, ...]           # each rank's log, relative to the run folder
    process: ProcessSpec | None = None  # the plan's process (None: a launch of many ranks)

    def shell(self, inherited: Mapping[str, str] | None = None) -> str:
        """The step as a line of a batch script: its variables that differ from
        `inherited` (what the script exported), then srun."""
        inherited = inherited or {}
        changed = [f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items())
                   if inherited.get(k) != v and _is_name(k)]
        return " ".join([*(["env", *changed] if changed else []),
                         *map(shlex.quote, self.argv)])


def srun_options(*, job_id: str | None, name: str, nodes: Sequence[str], tasks: int,
                 output: Path, workdir: Path | None = None, overcommit: bool = False,
                 mpi: str | None = None) -> list[str]:
    """srun's options for one step of `tasks` tasks on `nodes`, in `workdir` (a step
    started from outside the job starts in srun's own folder otherwise), sharing the
    job's CPUs with the other steps (`--overlap`), writing every task's output to `output`
    (`%t` in it is the task's rank in the step)."""
    options = ["srun", *([f"--jobid={job_id}"] if job_id else []), f"--job-name={name}",
               f"--nodes={len(nodes)}", f"--ntasks={tasks}", f"--nodelist={','.join(nodes)}",
               *([f"--chdir={workdir}"] if workdir else []),
               "--overlap", "--input=none", f"--output={output}", f"--error={output}",
               "--open-mode=append", "--kill-on-bad-exit=1"]
    if len(nodes) > 1:
        options.append(f"--ntasks-per-node={tasks // len(nodes)}")
    if overcommit:
        options.append("--overcommit")
    if mpi:
        options.append(f"--mpi={mpi}")
    return options


def plan_steps(plan: Plan, command: Sequence[str], *, job_id: str | None,
               node_names: Sequence[str], env: Mapping[str, str], run_dir: Path,
               channels: Path, workdir: Path | None = None,
               tasks_per_node: int | None = None, mpi: str = "pmix") -> list[Step]:
    """The job steps that start `plan`'s processes running `command` in `workdir`: one
    step per process (`direct`), each on its node with its own environment; or, for an
    `mpirun` plan, one `srun --mpi=pmix` step for every rank (no mpirun, no ssh).
    `node_names` are the job's nodes by node rank; `tasks_per_node` what the job holds
    per node (more processes than that on a node means --overcommit). `env` is every
    process's base; logs go to `run_dir`/logs/<role>_<index>.txt."""
    if len(node_names) < plan.node_count:
        raise ValidationError(f"the plan has {plan.node_count} nodes and the job "
                              f"{len(node_names)}: {', '.join(node_names)}")
    if plan.launcher == "mpirun":
        return [_mpi_step(plan, command, job_id, node_names, env, run_dir, channels,
                          workdir, tasks_per_node, mpi)]
    steps = []
    for spec in plan.processes:
        node = node_names[spec.node_rank]
        argv = [*srun_options(job_id=job_id, name=spec.name, nodes=[node], tasks=1,
                              output=run_dir / spec.log_name, workdir=workdir), *command]
        steps.append(Step(spec.name, tuple(argv),
                          {**env, **spec.env,
                           "RUNYARD_CHANNEL": str(channels / f"{spec.rank}.bin")},
                          (spec.rank,), (node,), (spec.log_name,), spec))
    return steps


def _mpi_step(plan: Plan, command: Sequence[str], job_id: str | None,
              node_names: Sequence[str], env: Mapping[str, str], run_dir: Path,
              channels: Path, workdir: Path | None, tasks_per_node: int | None,
              mpi: str) -> Step:
    per_node = plan.world_size // plan.node_count
    used = list(node_names[:plan.node_count])
    argv = [*srun_options(job_id=job_id, name="mpi", nodes=used, tasks=plan.world_size,
                          output=run_dir / "logs" / "worker_%t.txt", workdir=workdir,
                          overcommit=tasks_per_node is not None and per_node > tasks_per_node,
                          mpi=mpi),
            "/bin/sh", "-c", RANK_WRAPPER, "sh", *command]
    step_env = {**env, "RUNYARD_CHANNEL_DIR": str(channels), "RUNYARD_PER_NODE": str(per_node)}
    return Step("mpi", tuple(argv), step_env, tuple(p.rank for p in plan.processes),
                tuple(used), tuple(p.log_name for p in plan.processes))


def steps_body(steps: Sequence[Step], inherited: Mapping[str, str] | None = None) -> str:
    """A batch script body that runs `steps` itself (inside the job: no --jobid) side by
    side and exits with the first failing step's exit code, else 0."""
    lines = [f"{step.shell(inherited)} &\npids=\"$pids $!\"" for step in steps]
    return "\n".join(["pids=", *lines, "status=0",
                      'for pid in $pids; do wait "$pid" || { code=$?; '
                      '[ "$status" = 0 ] && status=$code; }; done',
                      'exit "$status"']) + "\n"


def step_ids(job_id: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The job's running steps: step name → step id (`123.4`), from `squeue --steps`."""
    result = slurm_command(["squeue", "--noheader", "--steps", "--jobs", job_id,
                            "--format", "%i|%j"], env, check=False)
    found = {}
    for line in result.stdout.splitlines():
        step, _, name = line.strip().partition("|")
        if step and name and not step.endswith((".batch", ".extern")):
            found[name] = step
    return found


_ENDED = ("Invalid job id specified", "already completing or completed")


def _scancel(argv: list[str], env: Mapping[str, str] | None) -> bool:
    """Run scancel; False when what it should signal has ended already (so stopping
    twice, or after the job ended, is no error)."""
    result = slurm_command(argv, env, check=False)
    if result.returncode == 0:
        return True
    if any(words in result.stderr for words in _ENDED):
        return False
    raise command_error(argv, result.returncode, result.stderr)


def signal_step(step_id: str, signal: str = "TERM",
                env: Mapping[str, str] | None = None) -> bool:
    """Send `signal` to the tasks of step `step_id` (`123.4`): a parameter server is
    stopped with TERM, as on the local compute, its step then ends with its exit code.
    False when the step had ended."""
    return _scancel(["scancel", f"--signal={signal}", step_id], env)


def cancel(job_id: str, env: Mapping[str, str] | None = None) -> bool:
    """Cancel the job (`scancel`): TERM to every step and the batch step, KILL after
    Slurm's KillWait; it ends CANCELLED. An ended job is left as it is."""
    return _scancel(["scancel", job_id], env)


def release(job_id: str, env: Mapping[str, str] | None = None) -> bool:
    """End a held job normally once the run's processes ended: the batch step gets
    RELEASE_SIGNAL and exits 0, so the job ends COMPLETED (not CANCELLED); steps still
    running are ended with it. False when the job had ended."""
    return _scancel(["scancel", "--batch", f"--signal={RELEASE_SIGNAL}", job_id], env)


# -- the job's state --------------------------------------------------------------------
_SQUEUE_FORMAT = "%i|%T|%r|%N|%l"
ACTIVE_STATES = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
                           "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING",
                           "RESV_DEL_HOLD", "SIGNALING", "STAGE_OUT", "STOPPED"})


@dataclass(frozen=True)
class JobInfo:
    """What Slurm says of a job now."""

    job_id: str
    state: str                  # PENDING, RUNNING, COMPLETED, NODE_FAIL, ...
    reason: str | None          # why it pends or ended (Resources, TimeLimit, ...)
    nodes: str | None           # its nodes, a hostlist expression
    exit_code: int | None = None    # the batch step's (ExitCode=N:S), once ended
    signal: int | None = None
    time_limit: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def parse_squeue(text: str) -> JobInfo | None:
    """A line of `squeue -h -o '%i|%T|%r|%N|%l'`; None when there is none."""
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 5 and parts[0]:
            job_id, state, reason, nodelist, limit = parts
            return JobInfo(job_id, state, _none(reason), _none(nodelist), time_limit=limit)
    return None


def parse_job(text: str) -> JobInfo | None:
    """`scontrol show job --oneliner ID`; None when it names no job."""
    for record in parse_records(text):
        if "JobId" in record:
            code, _, signal = record.get("ExitCode", "").partition(":")
            return JobInfo(record["JobId"], record.get("JobState", "UNKNOWN"),
                           _none(record.get("Reason")), _none(record.get("NodeList")),
                           int(code) if code.isdigit() else None,
                           int(signal) if signal.isdigit() else None,
                           record.get("TimeLimit"))
    return None


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "None", "(null)", "n/a") else value


def job_info(job_id: str, env: Mapping[str, str] | None = None) -> JobInfo | None:
    """The job's state: `squeue` while it is active, `scontrol show job` once it ended
    (for its exit code; Slurm keeps it MinJobAge, 300 s by default); None when Slurm no
    longer knows it."""
    result = slurm_command(["squeue", "--noheader", "--jobs", job_id, "--states=all",
                            "--format", _SQUEUE_FORMAT], env, check=False)
    found = parse_squeue(result.stdout) if result.returncode == 0 else None
    if found is not None and found.active:
        return found
    shown = slurm_command(["scontrol", "show", "job", "--oneliner", job_id], env,
                          check=False)
    if shown.returncode != 0:
        if "Invalid job id" in shown.stderr:
            return found
        raise command_error(["scontrol", "show", "job", job_id], shown.returncode,
                            shown.stderr)
    return parse_job(shown.stdout) or found


# -- Slurm's states as runyard's --------------------------------------------------------
@dataclass(frozen=True)
class JobView:
    """A job's state as a run shows it: `status` (runyard's), the stage `detail`, and for
    a failed run the `error`."""

    status: str
    detail: str | None = None
    error: str | None = None


# why a job pends, in words (Slurm's reason stays in the detail, for looking it up)
PENDING_REASONS = {
    "None": "waiting for Slurm's next scheduling pass",
    "Resources": "waiting for free nodes",
    "Priority": "other jobs come first",
    "PartitionConfig": "the partition can never give what the job asks",
    "PartitionNodeLimit": "the job asks for more nodes than the partition has",
    "PartitionTimeLimit": "the time limit is longer than the partition allows",
    "PartitionDown": "the partition is down",
    "PartitionInactive": "the partition is inactive",
    "ReqNodeNotAvail": "the nodes it needs are down, drained or reserved",
    "NodeDown": "a node it needs is down",
    "BadConstraints": "no node has the features it asks for",
    "JobHeldUser": "held (scontrol release JOBID)",
    "JobHeldAdmin": "held by an administrator",
    "BeginTime": "its start time has not come",
    "Dependency": "waiting for the jobs it depends on",
    "Reservation": "waiting for its reservation",
    "QOSMaxJobsPerUserLimit": "the QOS allows no more jobs of this user now",
    "AssocGrpCpuLimit": "the account's CPU limit is reached",
    "AssocGrpGRES": "the account's GPU limit is reached",
    "AssocMaxJobsLimit": "the account allows no more jobs now",
}
# reasons that never go away by waiting
NEVER_STARTS = frozenset({"PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit",
                          "BadConstraints", "InvalidAccount", "InvalidQOS"})


def pending_detail(info: JobInfo) -> str:
    """`Slurm job 12 pending: Resources (waiting for free nodes)`."""
    words = PENDING_REASONS.get(info.reason or "None")
    reason = f": {info.reason}" if info.reason else ""
    return f"Slurm job {info.job_id} pending{reason}" + (f" ({words})" if words else "")


def failed_nodes(job_nodes: Iterable[str], known: Mapping[str, NodeInfo]) -> list[NodeInfo]:
    """Those of the job's nodes Slurm now counts unusable (down, failed, not responding)."""
    return [known[name] for name in job_nodes if name in known and known[name].unusable]


def job_view(info: JobInfo | None, *, failed: Sequence[NodeInfo] = (),
             canceled_by_runyard: bool = False) -> JobView:
    """What a run shows for its job's Slurm state (docs/slurm.md, "The Slurm compute"):
    PENDING → Queued with Slurm's reason; CONFIGURING (nodes booting) → Scaling; RUNNING,
    COMPLETING, SUSPENDED → Running; COMPLETED → Completed; CANCELLED → Canceled;
    NODE_FAIL, TIMEOUT, FAILED, PREEMPTED, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE → Failed,
    with why (the failed nodes by name where `failed` names them)."""
    if info is None:
        return JobView(_status.FAILED, error="Slurm no longer knows the run's job (it ended "
                                             "more than MinJobAge ago, or was purged)")
    job = f"Slurm job {info.job_id}"
    state = info.state.split()[0].rstrip("+")
    if state in ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"):
        return JobView(_status.QUEUED, pending_detail(info))
    if state == "CONFIGURING":
        return JobView(_status.SCALING, f"{job}: its nodes are booting")
    if state in ("RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "RESIZING"):
        return JobView(_status.RUNNING, f"{job} running on {info.nodes}")
    if state in ("SUSPENDED", "STOPPED"):
        return JobView(_status.RUNNING, f"{job} is suspended by Slurm ({state})")
    if state == "COMPLETED":
        return JobView(_status.COMPLETED, f"{job} completed")
    if state == "CANCELLED":
        who = "by runyard" if canceled_by_runyard else "in Slurm (scancel, or an administrator)"
        return JobView(_status.CANCELED, f"{job} was cancelled {who}")
    if state == "NODE_FAIL":
        if failed:
            names = ", ".join(f"{n.name}" + (f" ({n.reason})" if n.reason else "")
                              for n in failed)
            what = f"node {names} failed" if len(failed) == 1 else f"nodes {names} failed"
        else:
            what = f"a node of {info.nodes or 'the job'} failed"
        return JobView(_status.FAILED, error=f"Slurm {what}: {job} ended NODE_FAIL")
    if state == "TIMEOUT":
        limit = f" ({info.time_limit})" if info.time_limit else ""
        return JobView(_status.FAILED, error=f"{job} reached its time limit{limit}: Slurm "
                                             f"ended it (TIMEOUT)")
    explained = {"PREEMPTED": "was preempted by a job of higher priority",
                 "OUT_OF_MEMORY": "ran out of memory", "BOOT_FAIL": "'s nodes failed to boot",
                 "DEADLINE": "passed its deadline", "REVOKED": "was revoked",
                 "SPECIAL_EXIT": "ended with a special exit state"}
    if state in explained:
        gap = "" if explained[state].startswith("'") else " "
        return JobView(_status.FAILED, error=f"{job}{gap}{explained[state]} ({state})")
    code = "" if info.exit_code is None else f", exit code {info.exit_code}"
    why = f", {info.reason}" if info.reason else ""
    return JobView(_status.FAILED, error=f"{job} ended {state}{code}{why}")


_NODE_FAILURE = re.compile(r"Node failure on (\S+)")


def node_failure(srun_output: str) -> str | None:
    """The node srun names when a node of its step failed (`srun: error: Node failure on
    node2`), else None. Read it before trusting srun's exit code: Slurm 22.05's srun
    exits 0 for a step whose node failed under it."""
    found = _NODE_FAILURE.search(srun_output)
    return found.group(1).rstrip(".,;") if found else None
