"""The `slurm` compute: an existing Slurm cluster, attached by its partition.

`ComputeTarget.attach(ws, "hpc", SlurmCompute.attach_configuration(partition="gpu"))`
checks that the cluster answers and has the partition, and keeps the settings (partition,
account, time limit, extra sbatch options) and the `SLURM_CONF` it was reached through.
A run on it is one batch job holding its nodes, its processes job steps
(`runyard.compute._slurm_jobs`); the run's driver runs on this machine, the submit host.

Invariants:
- Nothing here changes the cluster: attach, status and checks only read (`scontrol`).
- The settings are sbatch's own options; what a run asks (nodes, tasks) comes from its
  distributed configuration, checked against the partition at submit (`check_submission`),
  so a run Slurm could never start is refused before it exists.
- Every Slurm command gets the compute's environment (`slurm_environment`), so a target
  attached with `SLURM_CONF=...` keeps reaching that cluster from any process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.compute import _slurm_jobs as jobs
from runyard.compute.base import Capability, ComputeTarget, NodeOversubscribedWarning
from runyard.errors import ComputeTargetException, ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runyard.compute.status import ComputeStatus
    from runyard.distributed.plan import Plan
    from runyard.workspace import Workspace

# options runyard sets itself from the run (or that would break how it watches the job)
_OWN_OPTIONS = {
    "--job-name": "the job is named runyard-<run id>", "-J": "the job is named runyard-<run id>",
    "--nodes": "nodes come from the run's distributed configuration",
    "-N": "nodes come from the run's distributed configuration",
    "--ntasks": "tasks come from the run's distributed configuration",
    "-n": "tasks come from the run's distributed configuration",
    "--ntasks-per-node": "tasks come from the run's distributed configuration",
    "--output": "the job's output goes to the run's logs", "-o": "the job's output goes to "
                                                                 "the run's logs",
    "--error": "the job's output goes to the run's logs", "-e": "the job's output goes to "
                                                                "the run's logs",
    "--chdir": "the job runs in the run's working directory",
    "-D": "the job runs in the run's working directory",
    "--requeue": "a run is never started twice (--no-requeue)",
    "--array": "a run is one job", "-a": "a run is one job",
    "--wrap": "runyard writes the batch script", "--parsable": "runyard reads the job id",
    "--wait": "the run driver watches the job", "-W": "the run driver watches the job",
    "--partition": "use partition=...", "-p": "use partition=...",
    "--account": "use account=...", "-A": "use account=...",
    "--time": "use time_limit=...", "-t": "use time_limit=...",
}
_SLURM_WORD = re.compile(r"^[A-Za-z0-9_.:+-]+$")


@dataclass
class SlurmAttachConfiguration:
    """What `ComputeTarget.attach` attaches: see `SlurmCompute.attach_configuration`."""

    partition: str | None = None
    account: str | None = None
    time_limit: int | str | None = None
    extra_sbatch_args: tuple[str, ...] = field(default_factory=tuple)

    target_type = "slurm"
    attaches = True     # an existing cluster: ComputeTarget.attach, no address needed

    def __post_init__(self) -> None:
        for name in ("partition", "account"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _SLURM_WORD.match(value)):
                raise ValidationError(f"{name} must be a Slurm {name} name (letters, digits, "
                                      f"'-', '_', '.'), got {value!r}", value=value)
        self.time_limit = jobs.checked_time_limit(self.time_limit)
        given = self.extra_sbatch_args
        if isinstance(given, str) or not isinstance(given, Sequence) or \
                not all(isinstance(a, str) for a in given):
            raise ValidationError(
                f"extra_sbatch_args must be a sequence of sbatch options such as "
                f"('--qos=high', '--gres=gpu:1'), got {given!r}", value=given)
        self.extra_sbatch_args = tuple(given)
        for argument in self.extra_sbatch_args:
            if not argument.startswith("-") or "\n" in argument:
                raise ValidationError(
                    f"extra_sbatch_args holds {argument!r}, which is not an sbatch option "
                    f"(each is one option with its value: '--qos=high', not '--qos', "
                    f"'high')", value=argument)
            option = argument.split("=", 1)[0]
            if not option.startswith("--"):
                option = option[:2]         # -N2, -pgpu: the option is its first letter
            why = _OWN_OPTIONS.get(option)
            if why:
                raise ValidationError(f"extra_sbatch_args cannot set {option}: {why}",
                                      value=argument)


class SlurmCompute(ComputeTarget):
    """A Slurm cluster runyard submits to from this machine (the submit host: it needs
    sbatch, squeue, scontrol, scancel and srun, and the workspace on a filesystem every
    node mounts at the same path; docs/slurm.md).

    Example:
        >>> config = SlurmCompute.attach_configuration(partition="gpu", time_limit="4:00:00",
        ...                                            extra_sbatch_args=("--qos=high",))
        >>> hpc = ComputeTarget.attach(ws, "hpc", config)            # doctest: +SKIP
        >>> hpc.get_status().node_state_counts.idle_node_count       # doctest: +SKIP
        4
    """

    type = "slurm"
    executor = "runyard.compute.slurm_executor:SlurmExecutor"
    capabilities = frozenset(Capability)  # srun reaches every node, MPI through PMI

    @staticmethod
    def attach_configuration(partition: str | None = None, account: str | None = None,
                             time_limit: int | str | None = None,
                             extra_sbatch_args: Sequence[str] = ()) -> SlurmAttachConfiguration:
        """The cluster to attach: jobs go to `partition` (None: the cluster's default),
        charged to `account` (None: the user's default), limited to `time_limit` (minutes,
        or a Slurm time such as '2:00:00' or '1-12'; None: the partition's limit), with
        `extra_sbatch_args` given to sbatch as they are ('--qos=high', '--constraint=a100')."""
        return SlurmAttachConfiguration(partition, account, time_limit,
                                        extra_sbatch_args)  # type: ignore[arg-type]

    # -- settings -------------------------------------------------------------------------
    @property
    def partition(self) -> str | None:
        return self.config.get("partition")

    @property
    def account(self) -> str | None:
        return self.config.get("account")

    @property
    def time_limit(self) -> str | None:
        return self.config.get("time_limit")

    @property
    def extra_sbatch_args(self) -> tuple[str, ...]:
        return tuple(self.config.get("extra_sbatch_args") or ())

    def slurm_environment(self) -> dict[str, str]:
        """What a process needs in its environment to reach this cluster: the SLURM_CONF
        it was attached through (none: Slurm's default, /etc/slurm/slurm.conf)."""
        conf = self.config.get("slurm_conf")
        return {"SLURM_CONF": str(conf)} if conf else {}

    # -- attaching ------------------------------------------------------------------------
    @classmethod
    def _create(cls, workspace: Workspace, name: str,
                config: SlurmAttachConfiguration) -> SlurmCompute:
        time_limit = jobs.checked_time_limit(config.time_limit)
        settings: dict[str, Any] = {
            "partition": config.partition, "account": config.account,
            "time_limit": time_limit, "extra_sbatch_args": list(config.extra_sbatch_args),
            "slurm_conf": os.environ.get("SLURM_CONF"), "provisioning_state": "Succeeded"}
        compute = cls(workspace, name, settings)
        try:
            partition = compute.partition_info()
        except ComputeTargetException as e:
            raise ComputeTargetException(f"cannot attach Slurm compute {name!r}: {e}",
                                         name=name) from e
        _check_time_limit(time_limit, partition)
        workspace.store.put_compute_target(name, cls.type, settings)
        return compute

    def detach(self) -> None:
        """Forget the cluster (nothing in Slurm changes). Refused while runs are active on
        it: their jobs would have nobody watching them."""
        active = [run.id for run in self.get_active_runs()]
        if active:
            raise ComputeTargetException(
                f"Slurm compute {self.name!r} has active runs ({', '.join(active)}); "
                f"cancel them or wait, then detach", name=self.name)
        self.workspace.store.delete_compute_target(self.name)

    # -- what the cluster has -------------------------------------------------------------
    def partition_info(self) -> jobs.PartitionInfo:
        """The partition runs go to (the configured one, or the cluster's default)."""
        return jobs.choose_partition(jobs.partitions(self.slurm_environment()), self.partition)

    def partition_nodes(self, partition: jobs.PartitionInfo | None = None) -> list[jobs.NodeInfo]:
        found = partition or self.partition_info()
        if not found.nodes:
            return []
        return [node for node in jobs.nodes(self.slurm_environment(), found.nodes)
                if not node.partitions or found.name in node.partitions]

    def check_submission(self, config: dict[str, Any]) -> None:
        """Refuse what the partition could never run: more nodes than it has (or allows),
        GPUs its nodes lack, MPI without Slurm's PMIx plugin, a time limit beyond its own;
        warn when processes outnumber a node's CPUs (they share them, as v1 ran them)."""
        distributed = config.get("distributed")
        plan = config.get("plan")   # made at submit (a RunSpec's JSON), else made here
        if plan is not None:
            from runyard.distributed.plan import Plan as SubmittedPlan

            shape = jobs.JobShape.of_plan(SubmittedPlan.from_json(plan))
        else:
            shape = jobs.JobShape.of_config(distributed)
        partition = self.partition_info()
        where = f"partition {partition.name!r} of Slurm compute {self.name!r}"
        if partition.state.upper() != "UP":
            raise ValidationError(f"{where} is {partition.state}: Slurm starts no job there; "
                                  f"attach another partition or ask the cluster's admin")
        if shape.nodes > partition.total_nodes:
            raise ValidationError(f"this run asks for {shape.nodes} nodes and {where} has "
                                  f"{partition.total_nodes}")
        if partition.max_nodes is not None and shape.nodes > partition.max_nodes:
            raise ValidationError(f"this run asks for {shape.nodes} nodes and {where} allows "
                                  f"at most {partition.max_nodes} per job (MaxNodes)")
        _check_time_limit(self.time_limit, partition)
        nodes = self.partition_nodes(partition)
        use_gpu = bool((config.get("estimator") or {}).get("use_gpu"))
        if use_gpu and shape.gpu_tasks_per_node:
            with_gpus = [n for n in nodes if n.gpus]
            if len(with_gpus) < shape.nodes:
                have = (f"only {len(with_gpus)} of its nodes have" if with_gpus
                        else "its nodes have")
                raise ValidationError(
                    f"use_gpu=True needs a GPU on each of this run's {shape.nodes} node(s) "
                    f"and {have} none (no gpu in their Gres: scontrol show node); submit "
                    f"with use_gpu=False, or attach a partition with GPU nodes")
        if (distributed or {}).get("framework") == "mpi" and "pmix" not in self.mpi_plugins():
            raise ValidationError(
                f"this run asks for MPI and Slurm compute {self.name!r} has no mpi/pmix "
                f"plugin (srun --mpi=list): runyard starts MPI ranks with srun --mpi=pmix")
        cpus = min((n.cpus for n in nodes if n.cpus), default=0)
        if cpus and shape.tasks_per_node > cpus:
            warnings.warn(
                f"this run puts {shape.tasks_per_node} processes on one node and a node of "
                f"{where} has {cpus} CPUs: they share them, as on Azure ML (more nodes, "
                f"node_count, give each its own)", NodeOversubscribedWarning, stacklevel=4)

    def mpi_plugins(self) -> list[str]:
        """The MPI plugins srun offers (`srun --mpi=list`)."""
        result = jobs.slurm_command(["srun", "--mpi=list"], self.slurm_environment(),
                                    check=False)
        text = result.stdout + result.stderr
        return [line.strip() for line in text.splitlines()
                if line.strip() and line.startswith(("\t", " "))]

    def job_request(self, run_id: str, plan: Plan, *, workdir: Path, output: Path,
                    environment: Mapping[str, str] | None = None,
                    use_gpu: bool = False) -> jobs.JobRequest:
        """The batch job of a run with `plan`: the plan's nodes and tasks, the settings,
        one GPU per process that may use one (at most the nodes' GPUs) with use_gpu."""
        shape = jobs.JobShape.of_plan(plan)
        nodes = self.partition_nodes()
        cpus = min((n.cpus for n in nodes if n.cpus), default=0) or None
        gpus = 0
        if use_gpu and shape.gpu_tasks_per_node:
            have = min((n.gpus for n in nodes if n.gpus), default=0)
            gpus = max(1, min(shape.gpu_tasks_per_node, have)) if have else 0
        return jobs.JobRequest(
            run_id=run_id, shape=shape, workdir=workdir, output=output,
            partition=self.partition, account=self.account, time_limit=self.time_limit,
            extra_args=self.extra_sbatch_args, gpus_per_node=gpus, cpus_per_node=cpus,
            environment=dict(environment or {}))

    # -- status ---------------------------------------------------------------------------
    def get_status(self) -> ComputeStatus:
        return self.compute_status()

    def compute_status(self) -> ComputeStatus:
        """v1's AmlComputeStatus of the partition: its nodes by v1's state (Slurm's
        IDLE → idle, ALLOCATED/MIXED → running, DOWN/DRAINED/FAIL → unusable,
        DRAINING → leaving, POWERING_UP → preparing), an error when Slurm does not answer,
        and each node with its CPUs, GPUs and memory in total and in use."""
        from runyard.compute.status import ComputeStatus, NodeStateCounts, from_timestamp

        errors: list[dict[str, Any]] | None = None
        nodes: list[jobs.NodeInfo] = []
        partition_name = self.partition
        try:
            partition = self.partition_info()
            partition_name = partition.name
            nodes = self.partition_nodes(partition)
        except (ComputeTargetException, ValidationError) as e:
            errors = [{"code": "ClusterUnreachable", "message": str(e)}]
        counts = NodeStateCounts()
        for node in nodes:
            attribute = f"{node.v1_state}_node_count"
            setattr(counts, attribute, getattr(counts, attribute) + 1)
        row = self.workspace.store.get_compute_target(self.name) or {}
        biggest = max(nodes, key=lambda n: n.cpus, default=None)
        resources = ({"CPU": biggest.cpus, "GPU": biggest.gpus,
                      "memory_gib": round(biggest.memory_mb / 1024, 1)} if biggest else {})
        return ComputeStatus(
            allocation_state="Steady", creation_time=from_timestamp(row.get("created_at")),
            current_node_count=len(nodes), errors=errors, node_state_counts=counts,
            provisioning_state=self.provisioning_state, target_node_count=len(nodes),
            name=self.name, type=self.type, node_resources=resources,
            vm_size=f"slurm:{partition_name}" if partition_name else None,
            nodes=[_node_entry(node) for node in nodes])

    def list_nodes(self) -> list[dict[str, Any]]:
        """v1's node listing (nodeId, privateIpAddress, nodeState, ...) with Slurm's own
        state besides (`slurmState`)."""
        return [{"nodeId": node["node_id"], "privateIpAddress": node["address"],
                 "publicIpAddress": None, "port": None, "nodeState": node["state"],
                 "runId": None, "resources": node["total"], "used": node["used"],
                 "slurmState": node["status"]}
                for node in self.compute_status().nodes]

    def describe(self) -> dict[str, Any]:
        shown = super().describe()
        nodes = shown.pop("nodes")
        shown.update(partition=self.partition, account=self.account,
                     time_limit=self.time_limit, extra_sbatch_args=list(self.extra_sbatch_args),
                     nodes=nodes)
        return shown

    # -- runs -----------------------------------------------------------------------------
    def _launch(self, run_id: str) -> None:
        """Start the run's driver on this machine (the submit host), detached, as the
        local compute does; the driver submits and watches the job."""
        run_dir = self.workspace.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.slurm_environment(),
               "RUNYARD_STORE_URL": self.workspace.store_url,
               "RUNYARD_ARTIFACT_URL": self.workspace.artifact_url,
               "RUNYARD_SUPERVISOR_LOG": str(run_dir / "supervisor.log")}
        command = [sys.executable, "-m", "runyard.supervisor", str(self.workspace.path), run_id]
        subprocess.run(["/bin/sh", "-c", '"$@" </dev/null >>"$RUNYARD_SUPERVISOR_LOG" 2>&1 &',
                        "sh", *command], env=env, start_new_session=True, check=True,
                       stdin=subprocess.DEVNULL)


def _node_entry(node: jobs.NodeInfo) -> dict[str, Any]:
    return {"node_id": node.name, "address": node.address, "status": node.state,
            "state": node.v1_state, "reason": node.reason,
            "total": {"CPU": node.cpus, "GPU": node.gpus,
                      "memory_gib": round(node.memory_mb / 1024, 1)},
            "used": {"CPU": node.cpus_allocated} if node.cpus_allocated else {}}


def _check_time_limit(limit: str | None, partition: jobs.PartitionInfo) -> None:
    seconds = jobs.time_limit_seconds(limit)
    if seconds is not None and partition.max_time_seconds is not None and \
            seconds > partition.max_time_seconds:
        raise ValidationError(f"time_limit {limit} is longer than partition "
                              f"{partition.name!r} allows ({partition.max_time})", value=limit)


__all__ = ["SlurmAttachConfiguration", "SlurmCompute"]
