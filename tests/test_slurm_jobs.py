"""Slurm's words read as data, and the job runyard writes for a run
(runyard.compute._slurm_jobs): no Slurm needed. The texts are what Slurm 22.05 printed
for the private test cluster (tests/slurm.py)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from runyard import _status
from runyard.compute import _slurm_jobs as jobs
from runyard.compute.slurm import SlurmCompute
from runyard.distributed import (
    MpiConfiguration,
    PyTorchConfiguration,
    TensorflowConfiguration,
    make_plan,
)
from runyard.errors import ComputeTargetException, ValidationError

NODE = (
    "NodeName=node2 Arch=x86_64 CoresPerSocket=1  CPUAlloc=1 CPUEfctv=2 CPUTot=2 "
    "CPULoad=1.06 AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:a100:4(S:0-1) "
    "NodeAddr=10.0.0.12 NodeHostName=vm Port=54593 Version=22.05.8 OS=Linux "
    "6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=24105 AllocMem=0 FreeMem=20883 "
    "Sockets=2 Boards=1 State=DOWN+NOT_RESPONDING ThreadsPerCore=1 TmpDisk=0 Weight=1 "
    "Owner=N/A MCS_label=N/A Partitions=debug  BootTime=2026-12-01T21:02:51 "
    "Reason=runyard test: node failed [root@2026-12-01T22:20:01]")
PARTITION = (
    "PartitionName=debug AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL "
    "Default=YES QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 "
    "Hidden=NO MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO "
    "MaxCPUsPerNode=UNLIMITED Nodes=node[1-2] PriorityJobFactor=1 PriorityTier=1 "
    "RootOnly=NO ReqResv=NO OverSubscribe=YES:4 OverTimeLimit=NONE PreemptMode=OFF "
    "State=UP TotalCPUs=4 TotalNodes=2 SelectTypeParameters=NONE JobDefaults=(null) "
    "DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED TRES=cpu=4,mem=48210M,node=2,billing=4")
TIMED_OUT = ("JobId=2 JobName=hold.sh UserId=root(0) GroupId=root(0) Priority=1 "
             "JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=0 Restarts=0 "
             "BatchFlag=1 Reboot=0 ExitCode=143:0 RunTime=00:01:17 TimeLimit=00:01:00 "
             "NodeList=node1 BatchHost=node1 NumNodes=1 Command=/tmp/sp/hold.sh")


def _plan(config: object, hosts: int = 1) -> jobs.Plan:
    return make_plan(config.to_dict() if config else None,  # type: ignore[attr-defined]
                     [f"10.0.0.{i + 1}" for i in range(hosts)], iter(range(30000, 30100)))


# -- parsing ---------------------------------------------------------------------------
def test_scontrol_records_keep_values_with_spaces_whole() -> None:
    [record] = jobs.parse_records(NODE)
    assert record["OS"] == "Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0"
    assert record["Reason"] == "runyard test: node failed [root@2026-12-01T22:20:01]"
    assert record["NodeAddr"] == "10.0.0.12"
    assert jobs.parse_records("\n\n") == []


def test_a_node_is_read_with_its_address_cpus_gpus_and_state() -> None:
    node = jobs.NodeInfo.from_record(jobs.parse_records(NODE)[0])
    assert (node.name, node.address, node.cpus, node.cpus_allocated, node.gpus) == \
        ("node2", "10.0.0.12", 2, 1, 4)
    assert node.partitions == ("debug",)
    assert node.unusable
    assert node.v1_state == "unusable"
    assert node.reason == "runyard test: node failed [root@2026-12-01T22:20:01]"


@pytest.mark.parametrize(("state", "allocated", "v1"), [
    ("IDLE", 0, "idle"), ("MIXED", 1, "running"), ("ALLOCATED", 2, "running"),
    ("IDLE+DRAIN", 0, "unusable"), ("MIXED+DRAIN", 1, "leaving"), ("DOWN*", 0, "unusable"),
    ("IDLE+POWERING_UP", 0, "preparing"), ("IDLE+COMPLETING", 0, "leaving")])
def test_slurm_node_states_are_v1_node_states(state: str, allocated: int, v1: str) -> None:
    node = jobs.NodeInfo("n", "n", state, 2, allocated, 1024, 0, ("debug",))
    if state == "MIXED+DRAIN":      # Slurm's own name for a draining node
        node = jobs.NodeInfo("n", "n", "MIXED+DRAINING", 2, allocated, 1024, 0, ())
    assert node.v1_state == v1


def test_a_partition_is_read_with_its_nodes_and_limits() -> None:
    partition = jobs.PartitionInfo.from_record(jobs.parse_records(PARTITION)[0])
    assert (partition.name, partition.nodes, partition.total_nodes, partition.total_cpus,
            partition.state, partition.default) == ("debug", "node[1-2]", 2, 4, "UP", True)
    assert partition.max_nodes is None
    assert partition.max_time_seconds is None
    limited = jobs.PartitionInfo.from_record(jobs.parse_records(
        PARTITION.replace("MaxNodes=UNLIMITED", "MaxNodes=8")
        .replace("MaxTime=UNLIMITED", "MaxTime=2-00:00:00"))[0])
    assert (limited.max_nodes, limited.max_time_seconds) == (8, 2 * 86400)


def test_choosing_a_partition_names_the_ones_there_are() -> None:
    found = [jobs.PartitionInfo.from_record(r) for r in jobs.parse_records(
        PARTITION + "\n" + PARTITION.replace("debug", "gpu").replace("Default=YES",
                                                                     "Default=NO"))]
    assert jobs.choose_partition(found, None).name == "debug"
    assert jobs.choose_partition(found, "gpu").name == "gpu"
    with pytest.raises(ValidationError, match=r"no partition 'a100'; it has: debug, gpu"):
        jobs.choose_partition(found, "a100")
    with pytest.raises(ValidationError, match="no default partition"):
        jobs.choose_partition(found[1:], None)


@pytest.mark.parametrize(("gres", "gpus"), [
    ("(null)", 0), (None, 0), ("gpu:4", 4), ("gpu:a100:4(S:0-1)", 4), ("gpu:2,mps:100", 2),
    ("gpu:a100:2,gpu:v100:1", 3), ("mps:100", 0), ("gpu", 1)])
def test_gpus_are_counted_from_the_gres(gres: str | None, gpus: int) -> None:
    assert jobs.parse_gpus(gres) == gpus


@pytest.mark.parametrize(("text", "seconds"), [
    ("30", 1800), ("30:15", 1815), ("1:30:00", 5400), ("2-12", 216000),
    ("2-12:30", 217800), ("1-00:00:01", 86401), ("UNLIMITED", None), ("INFINITE", None),
    (None, None)])
def test_slurm_times_in_seconds(text: str | None, seconds: int | None) -> None:
    assert jobs.time_limit_seconds(text) == seconds


def test_a_time_limit_is_minutes_or_a_slurm_time_else_refused() -> None:
    assert jobs.checked_time_limit(90) == "90"
    assert jobs.checked_time_limit(" 2:00:00 ") == "2:00:00"
    assert jobs.checked_time_limit(None) is None
    for bad in ("two hours", "1:2:3:4", 0, True, 1.5, "0"):
        with pytest.raises(ValidationError, match="time_limit"):
            jobs.checked_time_limit(bad)  # type: ignore[arg-type]


def test_squeue_and_scontrol_lines_become_job_infos() -> None:
    pending = jobs.parse_squeue("12|PENDING|Resources||UNLIMITED\n")
    assert pending == jobs.JobInfo("12", "PENDING", "Resources", None, time_limit="UNLIMITED")
    assert pending.active
    assert jobs.parse_squeue("") is None
    ended = jobs.parse_job(TIMED_OUT)
    assert ended is not None
    assert (ended.state, ended.reason, ended.exit_code, ended.signal, ended.nodes,
            ended.time_limit) == ("TIMEOUT", "TimeLimit", 143, 0, "node1", "00:01:00")
    assert not ended.active
    assert jobs.parse_job("") is None


# -- states as runyard's ---------------------------------------------------------------
def _info(state: str, reason: str | None = None, **more: object) -> jobs.JobInfo:
    return jobs.JobInfo("12", state, reason, more.pop("nodes", "node[1-2]"),
                        **more)  # type: ignore[arg-type]


def test_a_pending_job_is_queued_with_slurms_reason_in_the_detail() -> None:
    view = jobs.job_view(_info("PENDING", "Resources", nodes=None))
    assert view == jobs.JobView(_status.QUEUED,
                                "Slurm job 12 pending: Resources (waiting for free nodes)")
    assert jobs.job_view(_info("PENDING", "JobHeldUser")).detail == \
        "Slurm job 12 pending: JobHeldUser (held (scontrol release JOBID))"
    assert jobs.job_view(_info("PENDING")).detail == \
        "Slurm job 12 pending (waiting for Slurm's next scheduling pass)"
    assert jobs.job_view(_info("PENDING", "SomeNewReason")).detail == \
        "Slurm job 12 pending: SomeNewReason"


@pytest.mark.parametrize(("state", "status"), [
    ("CONFIGURING", _status.SCALING), ("RUNNING", _status.RUNNING),
    ("COMPLETING", _status.RUNNING), ("SUSPENDED", _status.RUNNING),
    ("COMPLETED", _status.COMPLETED), ("CANCELLED", _status.CANCELED),
    ("REQUEUED", _status.QUEUED)])
def test_slurm_states_as_runyard_statuses(state: str, status: str) -> None:
    assert jobs.job_view(_info(state)).status == status


def test_a_node_failure_fails_the_run_naming_the_node() -> None:
    down = jobs.NodeInfo.from_record(jobs.parse_records(NODE)[0])
    up = jobs.NodeInfo("node1", "10.0.0.11", "ALLOCATED", 2, 2, 1024, 0, ("debug",))
    failed = jobs.failed_nodes(["node1", "node2"], {"node1": up, "node2": down})
    assert failed == [down]
    view = jobs.job_view(_info("NODE_FAIL"), failed=failed)
    assert view.status == _status.FAILED
    assert view.error == ("Slurm node node2 (runyard test: node failed "
                          "[root@2026-12-01T22:20:01]) failed: Slurm job 12 ended NODE_FAIL")
    assert jobs.job_view(_info("NODE_FAIL")).error == \
        "Slurm a node of node[1-2] failed: Slurm job 12 ended NODE_FAIL"
    assert jobs.node_failure("srun: error: Node failure on node2\nsrun: error: x") == "node2"
    assert jobs.node_failure("srun: error: node1: task 0: Exited with exit code 3") is None


def test_timeout_cancel_and_other_ends_say_why() -> None:
    timed_out = jobs.parse_job(TIMED_OUT)
    assert jobs.job_view(timed_out).error == (
        "Slurm job 2 reached its time limit (00:01:00): Slurm ended it (TIMEOUT)")
    assert jobs.job_view(_info("CANCELLED")).detail == \
        "Slurm job 12 was cancelled in Slurm (scancel, or an administrator)"
    assert jobs.job_view(_info("CANCELLED"), canceled_by_runyard=True).detail == \
        "Slurm job 12 was cancelled by runyard"
    assert jobs.job_view(_info("OUT_OF_MEMORY")).error == \
        "Slurm job 12 ran out of memory (OUT_OF_MEMORY)"
    assert jobs.job_view(_info("BOOT_FAIL")).error == \
        "Slurm job 12's nodes failed to boot (BOOT_FAIL)"
    assert jobs.job_view(_info("FAILED", "NonZeroExitCode", exit_code=3)).error == \
        "Slurm job 12 ended FAILED, exit code 3, NonZeroExitCode"
    assert jobs.job_view(None).status == _status.FAILED


# -- commands --------------------------------------------------------------------------
def test_failing_commands_become_runyard_errors_from_one_table() -> None:
    bad = jobs.command_error(["sbatch", "--parsable"], 1,
                             "sbatch: error: invalid partition specified: nope\n"
                             "sbatch: error: Batch job submission failed: Invalid partition "
                             "name specified\n")
    assert isinstance(bad, ValidationError)
    assert str(bad).startswith("sbatch: no such partition: sbatch: error: invalid partition")
    assert bad.returncode == 1  # type: ignore[attr-defined]
    down = jobs.command_error(["squeue"], 1, "slurm_load_jobs error: Unable to contact "
                                             "slurm controller (connect failure)")
    assert type(down) is ComputeTargetException
    assert "the Slurm controller does not answer" in str(down)
    other = jobs.command_error(["scancel", "12"], 2, "")
    assert str(other) == "scancel 12 exited 2: (no output)"


def test_a_missing_slurm_program_is_named() -> None:
    with pytest.raises(ComputeTargetException, match=r"no-such-sbatch not found: the Slurm "
                                                     r"compute needs Slurm's client"):
        jobs.slurm_command(["no-such-sbatch"])


def test_commands_do_not_inherit_the_job_they_run_in() -> None:
    env = jobs.command_environment(
        {"SLURM_CONF": "/c/slurm.conf"},
        base={"PATH": "/bin", "SLURM_JOB_ID": "7", "SLURM_CONF": "/etc/x", "SRUN_CPUS": "1",
              "SBATCH_PARTITION": "gpu", "SLURMD_NODENAME": "n1"})
    assert env == {"PATH": "/bin", "SLURM_CONF": "/c/slurm.conf"}


# -- the job ---------------------------------------------------------------------------
@pytest.mark.parametrize(("config", "hosts", "shape"), [
    (None, 1, (1, 1, 1)),
    (TensorflowConfiguration(worker_count=2, parameter_server_count=1), 2, (2, 2, 2)),
    (TensorflowConfiguration(worker_count=1, parameter_server_count=1), 2, (2, 1, 1)),
    (PyTorchConfiguration(process_count=4, node_count=2), 2, (2, 2, 2)),
    (MpiConfiguration(process_count_per_node=3, node_count=2), 2, (2, 3, 3))])
def test_the_job_shape_is_the_plans(config: object, hosts: int,
                                    shape: tuple[int, int, int]) -> None:
    found = jobs.JobShape.of_plan(_plan(config, hosts))
    assert (found.nodes, found.tasks_per_node, found.gpu_tasks_per_node) == shape
    if config is not None and hasattr(config, "node_count"):
        assert jobs.JobShape.of_config(config.to_dict()) == found  # type: ignore[attr-defined]


def _request(**more: object) -> jobs.JobRequest:
    base: dict[str, object] = {
        "run_id": "tests_1700000000_ab12", "shape": jobs.JobShape(2, 3, 2),
        "workdir": Path("/ws/runs/r/wd"), "output": Path("/ws/runs/r/logs/slurm_job.txt"),
        "environment": {"RUNYARD_RUN_ID": "tests_1700000000_ab12", "ODD": "it's $HOME"}}
    base.update(more)
    return jobs.JobRequest(**base)  # type: ignore[arg-type]


def _options(script: str) -> list[str]:
    return [shlex.split(line)[1] for line in script.splitlines()
            if line.startswith("#SBATCH ")]


def test_the_batch_script_asks_for_the_plans_nodes_and_never_requeues() -> None:
    script = jobs.batch_script(_request(partition="gpu", account="ml", time_limit="2:00:00",
                                        extra_args=("--qos=high",), gpus_per_node=2))
    assert script.startswith("#!/bin/sh\n")
    assert _options(script) == [
        "--job-name=runyard-tests_1700000000_ab12", "--nodes=2", "--ntasks-per-node=3",
        "--no-requeue", "--chdir=/ws/runs/r/wd", "--output=/ws/runs/r/logs/slurm_job.txt",
        "--error=/ws/runs/r/logs/slurm_job.txt", "--open-mode=append", "--partition=gpu",
        "--account=ml", "--time=2:00:00", "--gres=gpu:2", "--qos=high"]
    assert "export ODD='it'\"'\"'s $HOME'\n" in script
    assert script.endswith(jobs.HOLD_BODY)


def test_more_processes_than_cpus_ask_for_the_cpus_and_share_them() -> None:
    assert "--ntasks-per-node=2" in _options(jobs.batch_script(_request(cpus_per_node=2)))
    assert "--ntasks-per-node=3" in _options(jobs.batch_script(_request(cpus_per_node=8)))
    minimal = _options(jobs.batch_script(_request()))
    assert not [o for o in minimal if o.startswith(("--partition", "--account", "--time",
                                                    "--gres"))]


def test_each_process_is_a_step_on_its_node_with_its_own_environment() -> None:
    plan = _plan(TensorflowConfiguration(worker_count=2, parameter_server_count=1), 2)
    steps = jobs.plan_steps(plan, ["python", "train.py", "--lr", "0.1"], job_id="12",
                            node_names=["node1", "node2"], env={"BASE": "1"},
                            run_dir=Path("/r"), channels=Path("/r/channel"))
    assert [(s.name, s.nodes, s.ranks) for s in steps] == [
        ("worker_0", ("node1",), (0,)), ("worker_1", ("node1",), (1,)),
        ("ps_0", ("node2",), (2,))]
    ps = steps[2]
    assert ps.argv == (
        "srun", "--jobid=12", "--job-name=ps_0", "--nodes=1", "--ntasks=1",
        "--nodelist=node2", "--overlap", "--input=none", "--output=/r/logs/ps_0.txt",
        "--error=/r/logs/ps_0.txt", "--open-mode=append", "--kill-on-bad-exit=1",
        "python", "train.py", "--lr", "0.1")
    assert ps.env["BASE"] == "1"
    assert ps.env["RANK"] == "2"
    assert ps.env["RUNYARD_CHANNEL"] == "/r/channel/2.bin"
    assert '"ps": ["10.0.0.2:' in ps.env["TF_CONFIG"]
    assert ps.process is not None
    assert ps.process.serves
    assert ps.logs == ("logs/ps_0.txt",)


def test_mpi_ranks_are_one_pmix_step_told_their_rank_by_slurm() -> None:
    plan = _plan(MpiConfiguration(process_count_per_node=3, node_count=2), 2)
    [step] = jobs.plan_steps(plan, ["python", "hvd.py"], job_id="12",
                             node_names=["node1", "node2"], env={}, run_dir=Path("/r"),
                             channels=Path("/r/channel"), tasks_per_node=2)
    assert step.ranks == (0, 1, 2, 3, 4, 5)
    assert step.nodes == ("node1", "node2")
    assert step.logs[5] == "logs/worker_5.txt"
    srun = step.argv[:step.argv.index("/bin/sh")]
    assert {"--nodes=2", "--ntasks=6", "--ntasks-per-node=3", "--nodelist=node1,node2",
            "--mpi=pmix", "--overcommit", "--output=/r/logs/worker_%t.txt"} <= set(srun)
    assert step.argv[-4:] == (jobs.RANK_WRAPPER, "sh", "python", "hvd.py")
    assert step.env == {"RUNYARD_CHANNEL_DIR": "/r/channel", "RUNYARD_PER_NODE": "3"}


def test_a_plan_needs_as_many_nodes_as_it_has() -> None:
    plan = _plan(PyTorchConfiguration(process_count=2, node_count=2), 2)
    with pytest.raises(ValidationError, match="the plan has 2 nodes and the job 1: node1"):
        jobs.plan_steps(plan, ["python"], job_id="1", node_names=["node1"], env={},
                        run_dir=Path("/r"), channels=Path("/r/c"))


def test_steps_in_a_batch_script_carry_only_their_own_variables() -> None:
    plan = _plan(None)
    [step] = jobs.plan_steps(plan, ["python", "t.py"], job_id=None, node_names=["n1"],
                             env={"A": "1"}, run_dir=Path("/r"), channels=Path("/r/c"))
    line = step.shell({"A": "1"})
    assert line.startswith("env LOCAL_RANK=0 NODE_RANK=0 RANK=0 RUNYARD_CHANNEL=/r/c/0.bin ")
    assert " srun --job-name=driver_0 " in line
    assert "--jobid" not in line
    body = jobs.steps_body([step, step], {"A": "1"})
    assert body.count(" &\npids=\"$pids $!\"") == 2
    assert body.endswith('exit "$status"\n')


# -- the attach configuration ----------------------------------------------------------
def test_attach_configuration_checks_its_settings() -> None:
    config = SlurmCompute.attach_configuration(partition="gpu", time_limit=120,
                                               extra_sbatch_args=["--qos=high"])
    assert (config.partition, config.time_limit, config.extra_sbatch_args) == \
        ("gpu", "120", ("--qos=high",))
    with pytest.raises(ValidationError, match=r"extra_sbatch_args cannot set --nodes: nodes "
                                              r"come from the run's distributed"):
        SlurmCompute.attach_configuration(extra_sbatch_args=("--nodes=4",))
    with pytest.raises(ValidationError, match=r"cannot set -p: use partition="):
        SlurmCompute.attach_configuration(extra_sbatch_args=("-pgpu",))
    with pytest.raises(ValidationError, match=r"cannot set --requeue"):
        SlurmCompute.attach_configuration(extra_sbatch_args=("--requeue",))
    with pytest.raises(ValidationError, match=r"'high', which is not an sbatch option"):
        SlurmCompute.attach_configuration(extra_sbatch_args=("--qos", "high"))
    with pytest.raises(ValidationError, match="extra_sbatch_args must be a sequence"):
        SlurmCompute.attach_configuration(extra_sbatch_args="--qos=high")
    with pytest.raises(ValidationError, match="partition must be a Slurm partition name"):
        SlurmCompute.attach_configuration(partition="gpu; rm -rf /")
    with pytest.raises(ValidationError, match="time_limit"):
        SlurmCompute.attach_configuration(time_limit="soon")


def test_a_time_limit_beyond_the_partitions_is_refused() -> None:
    from runyard.compute.slurm import _check_time_limit

    partition = jobs.PartitionInfo.from_record(jobs.parse_records(
        PARTITION.replace("MaxTime=UNLIMITED", "MaxTime=02:00:00"))[0])
    _check_time_limit("2:00:00", partition)
    _check_time_limit(None, partition)
    with pytest.raises(ValidationError, match=r"time_limit 1-00 is longer than partition "
                                              r"'debug' allows \(02:00:00\)"):
        _check_time_limit("1-00", partition)
