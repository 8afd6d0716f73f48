"""The Slurm compute against a real Slurm (the private cluster of tests/slurm.py): attach,
status, what submit refuses, and real jobs built by runyard.compute._slurm_jobs: the
environment each task gets, pending → running → completed, cancel, a failing rank and a
failed node, each as a run would show it (`job_view`)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Workspace, _status
from runyard.compute import ComputeTarget, NodeOversubscribedWarning
from runyard.compute import _slurm_jobs as jobs
from runyard.compute.slurm import SlurmCompute
from runyard.distributed import (
    MpiConfiguration,
    PyTorchConfiguration,
    TensorflowConfiguration,
    make_plan,
)
from runyard.distributed.plan import Plan
from runyard.errors import ComputeTargetException, UnknownComputeTargetError, ValidationError

from . import slurm
from .conftest import wait_for
from .slurm import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
NewJob = Callable[["SlurmCompute"], "Job"]

# prints what runyard told the task, then (RUNYARD_TEST_FAIL_RANK) fails or sleeps
TASK = r"""
import json, os, signal, sys, time
keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "NODE_RANK", "RUNYARD_ROLE", "RUNYARD_ROLE_INDEX",
        "RUNYARD_RUN_ID", "RUNYARD_CHANNEL", "SLURMD_NODENAME", "SLURM_JOB_NAME")
print(json.dumps({k: os.environ.get(k) for k in keys}), flush=True)
if "TF_CONFIG" in os.environ:
    print(json.dumps(json.loads(os.environ["TF_CONFIG"])["task"]), flush=True)
with open(os.path.join(os.environ["RUNYARD_TEST_PIDS"], os.environ["RANK"]), "w") as f:
    f.write(str(os.getpid()))
mode = os.environ.get("RUNYARD_TEST_MODE", "exit")
if mode == "fail" and os.environ["RANK"] == os.environ.get("RUNYARD_TEST_FAIL_RANK"):
    print("rank failing on purpose", file=sys.stderr, flush=True)
    sys.exit(3)
if mode == "pause":
    time.sleep(2)
if mode == "serve" and os.environ.get("RUNYARD_ROLE") == "ps" or mode in ("sleep", "fail"):
    signal.signal(signal.SIGTERM, lambda *_: (print("stopped", flush=True), sys.exit(0)))
    time.sleep(300)
"""


@pytest.fixture
def hpc(workspace: Workspace, slurm_cluster: SlurmCluster,
        monkeypatch: pytest.MonkeyPatch) -> SlurmCompute:
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    compute = ComputeTarget.attach(workspace, "hpc", SlurmCompute.attach_configuration(
        partition=slurm_cluster.partition, time_limit=10))
    monkeypatch.delenv("SLURM_CONF")  # the target keeps reaching its cluster
    assert isinstance(compute, SlurmCompute)
    return compute


@pytest.fixture
def new_job(tmp_path: Path) -> Iterator[NewJob]:
    """Job(compute, tmp_path); at the end its job is cancelled and its sruns reaped."""
    made: list[Job] = []

    def make(compute: SlurmCompute) -> Job:
        made.append(Job(compute, tmp_path / f"job{len(made)}"))
        return made[-1]

    yield make
    for job in made:
        job.close()


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[SlurmCluster]:
    slurm.require_slurm()
    with slurm.running_cluster(nodes=2, cpus=1) as cluster:
        yield cluster


class Job:
    """One run's folder and job, as a driver would hold them."""

    def __init__(self, compute: SlurmCompute, tmp_path: Path, run_id: str = "slurm_test_1"):
        self.compute = compute
        self.env = compute.slurm_environment()
        self.run_id = run_id
        self.dir = tmp_path / "run"
        for name in ("logs", "wd", "channel", "pids"):
            (self.dir / name).mkdir(parents=True, exist_ok=True)
        (self.dir / "wd" / "task.py").write_text(TASK)
        self.base = {"RUNYARD_RUN_ID": run_id, "RUNYARD_TEST_PIDS": str(self.dir / "pids"),
                     "PYTHONUNBUFFERED": "1"}
        self.job_id = ""
        self.views: list[jobs.JobView] = []
        self.started: list[subprocess.Popen[bytes]] = []

    def request(self, plan: Plan, **more: str) -> jobs.JobRequest:
        return self.compute.job_request(self.run_id, plan, workdir=self.dir / "wd",
                                        output=self.dir / jobs.BATCH_LOG,
                                        environment={**self.base, **more})

    def steps(self, plan: Plan, *, job_id: str | None, node_names: list[str],
              env: dict[str, str], mpi: str = "pmix") -> list[jobs.Step]:
        return jobs.plan_steps(plan, [sys.executable, "task.py"], job_id=job_id,
                               node_names=node_names, env=env, run_dir=self.dir,
                               channels=self.dir / "channel", workdir=self.dir / "wd",
                               mpi=mpi)

    def start(self, steps: list[jobs.Step]) -> list[subprocess.Popen[bytes]]:
        """Each step's srun, its own messages in srun_<name>.txt (as a driver would)."""
        started = []
        for step in steps:
            with open(self.dir / f"srun_{step.name}.txt", "wb") as said:
                started.append(subprocess.Popen(step.argv, env=step.env,
                                                stdin=subprocess.DEVNULL, stderr=said))
        self.started.extend(started)
        return started

    def close(self) -> None:
        if self.job_id:
            jobs.slurm_command(["scancel", self.job_id], self.env, check=False)
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(30)

    def submit(self, script: str) -> str:
        self.job_id = jobs.submit(script, self.env)
        return self.job_id

    def view(self, **more: object) -> jobs.JobView:
        info = jobs.job_info(self.job_id, self.env)
        failed: list[jobs.NodeInfo] = []
        if info is not None and info.state == "NODE_FAIL" and info.nodes:
            failed = jobs.failed_nodes(jobs.hostnames(info.nodes, self.env),
                                       {n.name: n for n in jobs.nodes(self.env)})
        view = jobs.job_view(info, failed=failed, **more)  # type: ignore[arg-type]
        if not self.views or self.views[-1] != view:
            self.views.append(view)
        return view

    def wait_status(self, status: str, timeout: float = 60, **more: object) -> jobs.JobView:
        wait_for(lambda: self.view(**more).status == status, timeout=timeout, every=0.2)
        return self.views[-1]

    def info(self) -> jobs.JobInfo:
        info = jobs.job_info(self.job_id, self.env)
        assert info is not None
        return info

    def log(self, name: str) -> str:
        return (self.dir / name).read_text()

    def task_pids(self) -> list[int]:
        return [int(p.read_text()) for p in (self.dir / "pids").iterdir() if p.read_text()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _plan(config: object, hosts: list[str]) -> Plan:
    return make_plan(config.to_dict(), hosts, iter(range(41000, 41100)))  # type: ignore[attr-defined]


# -- the target ------------------------------------------------------------------------
def test_an_attached_cluster_is_found_by_name_and_shows_its_nodes(
        hpc: SlurmCompute, workspace: Workspace, slurm_cluster: SlurmCluster) -> None:
    found = ComputeTarget(workspace, "hpc")
    assert isinstance(found, SlurmCompute)
    assert (found.partition, found.time_limit, found.slurm_environment()) == \
        (slurm_cluster.partition, "10", slurm_cluster.env)
    status = found.get_status()
    assert status.errors is None
    assert (status.type, status.current_node_count, status.provisioning_state) == \
        ("slurm", 1, "Succeeded")
    assert status.node_state_counts is not None
    assert status.node_state_counts.idle_node_count + \
        status.node_state_counts.running_node_count == 1
    assert status.node_resources["CPU"] == slurm_cluster.cpus
    [node] = found.list_nodes()
    assert (node["nodeId"], node["privateIpAddress"]) == (slurm_cluster.node_name, "127.0.0.1")
    assert node["nodeState"] in ("idle", "running")
    assert found.describe()["partition"] == slurm_cluster.partition
    found.detach()
    with pytest.raises(UnknownComputeTargetError):
        ComputeTarget(workspace, "hpc")


def test_attaching_a_partition_the_cluster_lacks_is_refused_and_saves_nothing(
        workspace: Workspace, slurm_cluster: SlurmCluster,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    with pytest.raises(ValidationError, match=r"no partition 'gpu'; it has: debug"):
        ComputeTarget.attach(workspace, "hpc", SlurmCompute.attach_configuration(
            partition="gpu"))
    assert workspace.store.get_compute_target("hpc") is None


def test_attaching_a_cluster_that_does_not_answer_says_so(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=gone\nSlurmctldHost=localhost(127.0.0.1)\n"
                    "SlurmctldPort=1\nAuthType=auth/none\nMessageTimeout=1\nNodeName=n1\n"
                    "PartitionName=debug Nodes=ALL Default=YES\n")
    monkeypatch.setenv("SLURM_CONF", str(conf))
    with pytest.raises(ComputeTargetException, match="cannot attach Slurm compute 'hpc'"):
        ComputeTarget.attach(workspace, "hpc", SlurmCompute.attach_configuration())
    assert workspace.store.get_compute_target("hpc") is None


def test_submit_refuses_what_the_partition_could_never_run(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster) -> None:
    two_nodes = PyTorchConfiguration(process_count=2, node_count=2).to_dict()
    with pytest.raises(ValidationError, match=r"asks for 2 nodes and partition 'debug' of "
                                              r"Slurm compute 'hpc' has 1"):
        hpc.check_submission({"distributed": two_nodes})
    with pytest.raises(ValidationError, match=r"use_gpu=True needs a GPU .* its nodes have "
                                              r"none"):
        hpc.check_submission({"distributed": None, "estimator": {"use_gpu": True}})
    hpc.check_submission({"distributed": TensorflowConfiguration(
        worker_count=1, parameter_server_count=0).to_dict() | {"node_count": 1}})
    crowded = MpiConfiguration(process_count_per_node=slurm_cluster.cpus + 1).to_dict()
    with pytest.warns(NodeOversubscribedWarning, match="they share them"):
        hpc.check_submission({"distributed": crowded})


# -- jobs ------------------------------------------------------------------------------
def test_a_job_runs_two_tasks_with_runyards_environment_and_goes_pending_running_completed(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, new_job: NewJob) -> None:
    """The batch script runs one step of two tasks itself; each task is told its rank by
    Slurm (SLURM_PROCID) through the rank wrapper. Submitted held, so it pends first."""
    job = new_job(hpc)
    plan = _plan(MpiConfiguration(process_count_per_node=2), ["127.0.0.1"])
    request = job.request(plan, RUNYARD_TEST_MODE="pause")
    request = jobs.JobRequest(**{**request.__dict__, "extra_args": ("--hold",)})
    steps = job.steps(plan, job_id=None, node_names=[slurm_cluster.node_name],
                      env=dict(request.environment), mpi="none")
    job.submit(jobs.batch_script(request, jobs.steps_body(steps, request.environment)))
    held = job.wait_status(_status.QUEUED, timeout=10)
    assert held.detail == f"Slurm job {job.job_id} pending: JobHeldUser (held (scontrol " \
                          f"release JOBID))"
    slurm_cluster.run("scontrol", "release", job.job_id)
    job.wait_status(_status.COMPLETED)
    seen = [status for status, _ in itertools.groupby(v.status for v in job.views)]
    assert seen == [_status.QUEUED, _status.RUNNING, _status.COMPLETED]
    assert job.info().exit_code == 0
    told = [json.loads(job.log(f"logs/worker_{rank}.txt").splitlines()[0]) for rank in (0, 1)]
    for rank, variables in enumerate(told):
        assert variables == {
            "RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank), "NODE_RANK": "0",
            "RUNYARD_ROLE": "worker", "RUNYARD_ROLE_INDEX": str(rank),
            "RUNYARD_RUN_ID": job.run_id,
            "RUNYARD_CHANNEL": str(job.dir / "channel" / f"{rank}.bin"),
            "SLURMD_NODENAME": slurm_cluster.node_name, "SLURM_JOB_NAME": "mpi"}
    assert slurm_cluster.job_state(job.job_id)["JobName"] == f"runyard-{job.run_id}"


def test_each_process_is_a_step_in_the_held_job_and_a_parameter_server_is_stopped(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, new_job: NewJob) -> None:
    """The driver's way: the job holds the nodes, each process of a TensorFlow plan is a
    step started from here with its own TF_CONFIG, the ps is stopped with TERM once the
    workers are done, and the job is released: COMPLETED, not CANCELLED."""
    job = new_job(hpc)
    config = TensorflowConfiguration(worker_count=2, parameter_server_count=1)
    request = job.request(_plan(config, ["placeholder"]))
    job.submit(jobs.batch_script(request))
    running = job.wait_status(_status.RUNNING)
    info = job.info()
    assert running.detail == f"Slurm job {job.job_id} running on {info.nodes}"
    assert info.nodes is not None
    names = jobs.hostnames(info.nodes, job.env)
    plan = _plan(config, jobs.node_addresses(names, job.env))
    env = jobs.command_environment({**job.env, **request.environment,
                                    "RUNYARD_TEST_MODE": "serve"})
    steps = job.steps(plan, job_id=job.job_id, node_names=names, env=env)
    started = job.start(steps)
    workers, ps = started[:2], started[2]
    assert [w.wait(60) for w in workers] == [0, 0]
    wait_for(lambda: "ps_0" in jobs.step_ids(job.job_id, job.env), timeout=20)
    assert ps.poll() is None
    jobs.signal_step(jobs.step_ids(job.job_id, job.env)["ps_0"], "TERM", job.env)
    assert ps.wait(30) == 0
    assert job.log("logs/ps_0.txt").splitlines()[-1] == "stopped"
    for step in steps:
        lines = job.log(step.logs[0]).splitlines()
        assert json.loads(lines[1]) == {"type": step.process.role,  # type: ignore[union-attr]
                                        "index": step.process.index}  # type: ignore[union-attr]
        assert json.loads(lines[0])["RUNYARD_CHANNEL"] == step.env["RUNYARD_CHANNEL"]
        assert json.loads(lines[0])["SLURM_JOB_NAME"] == step.name
    assert jobs.release(job.job_id, job.env)
    assert job.wait_status(_status.COMPLETED).detail == f"Slurm job {job.job_id} completed"
    # stopping what has ended is no error
    assert not jobs.release(job.job_id, job.env)
    assert not jobs.signal_step(f"{job.job_id}.0", "TERM", job.env)
    jobs.cancel(job.job_id, job.env)
    assert job.view().status == _status.COMPLETED
    assert job.log(jobs.BATCH_LOG).startswith(f"runyard: job {job.job_id} holds ")


def test_cancel_ends_the_job_and_every_process_of_it(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, new_job: NewJob) -> None:
    job = new_job(hpc)
    config = PyTorchConfiguration(process_count=2)
    request = job.request(_plan(config, ["placeholder"]), RUNYARD_TEST_MODE="sleep")
    job.submit(jobs.batch_script(request))
    job.wait_status(_status.RUNNING)
    names = [slurm_cluster.node_name]
    plan = _plan(config, jobs.node_addresses(names, job.env))
    steps = job.steps(plan, job_id=job.job_id, node_names=names,
                      env=jobs.command_environment({**job.env, **request.environment}))
    started = job.start(steps)
    wait_for(lambda: len(job.task_pids()) == 2, timeout=30)
    pids = job.task_pids()
    jobs.cancel(job.job_id, job.env)
    view = job.wait_status(_status.CANCELED, canceled_by_runyard=True)
    assert view.detail == f"Slurm job {job.job_id} was cancelled by runyard"
    assert [p.wait(30) for p in started] == [0, 0]     # TERM first: they stopped cleanly
    # each process's own last line; slurmstepd may add its "CANCELLED" line after it
    assert [[line for line in job.log(s.logs[0]).splitlines()
             if not line.startswith("slurmstepd")][-1] for s in steps] == ["stopped", "stopped"]
    wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=15)


def test_a_failing_rank_fails_the_job_with_its_exit_code_and_stops_the_other(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, new_job: NewJob) -> None:
    job = new_job(hpc)
    plan = _plan(MpiConfiguration(process_count_per_node=2), ["127.0.0.1"])
    request = job.request(plan, RUNYARD_TEST_MODE="fail", RUNYARD_TEST_FAIL_RANK="1")
    steps = job.steps(plan, job_id=None, node_names=[slurm_cluster.node_name],
                      env=dict(request.environment), mpi="none")
    started = time.monotonic()
    job.submit(jobs.batch_script(request, jobs.steps_body(steps, request.environment)))
    view = job.wait_status(_status.FAILED)
    assert time.monotonic() - started < 60      # rank 0 (asleep) did not hold the job
    assert view.error == f"Slurm job {job.job_id} ended FAILED, exit code 3, NonZeroExitCode"
    assert job.log("logs/worker_1.txt").splitlines()[-1] == "rank failing on purpose"
    assert "srun:" not in job.log("logs/worker_1.txt")     # srun's words stay out of it
    wait_for(lambda: not any(_alive(pid) for pid in job.task_pids()), timeout=15)


def test_a_process_step_that_fails_returns_its_exit_code(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, new_job: NewJob) -> None:
    job = new_job(hpc)
    config = PyTorchConfiguration(process_count=2)
    request = job.request(_plan(config, ["placeholder"]), RUNYARD_TEST_MODE="fail",
                          RUNYARD_TEST_FAIL_RANK="0")
    job.submit(jobs.batch_script(request))
    job.wait_status(_status.RUNNING)
    names = [slurm_cluster.node_name]
    plan = _plan(config, jobs.node_addresses(names, job.env))
    steps = job.steps(plan, job_id=job.job_id, node_names=names,
                      env=jobs.command_environment({**job.env, **request.environment}))
    failing = subprocess.run(steps[0].argv, env=steps[0].env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=60, check=False)
    assert failing.returncode == 3
    assert "task 0: Exited with exit code 3" in failing.stderr
    assert job.log("logs/worker_0.txt").splitlines()[-1] == "rank failing on purpose"
    jobs.release(job.job_id, job.env)
    job.wait_status(_status.COMPLETED)


@pytest.fixture
def doomed_nodes() -> Iterator[SlurmCluster]:
    """A two-node cluster of its own: a test fails one of its nodes."""
    slurm.require_slurm()
    with slurm.running_cluster(nodes=2, cpus=1) as cluster:
        yield cluster


def test_a_failed_node_fails_the_job_naming_the_node(
        workspace: Workspace, doomed_nodes: SlurmCluster, new_job: NewJob,
        monkeypatch: pytest.MonkeyPatch) -> None:
    two_nodes = doomed_nodes
    monkeypatch.setenv("SLURM_CONF", two_nodes.env["SLURM_CONF"])
    compute = ComputeTarget.attach(workspace, "two", SlurmCompute.attach_configuration())
    assert isinstance(compute, SlurmCompute)
    job = new_job(compute)
    config = PyTorchConfiguration(process_count=2, node_count=2)
    request = job.request(_plan(config, ["a", "b"]), RUNYARD_TEST_MODE="sleep")
    assert (request.shape.nodes, request.tasks_per_node) == (2, 1)
    job.submit(jobs.batch_script(request))
    job.wait_status(_status.RUNNING)
    names = jobs.hostnames(job.info().nodes or "", job.env)
    assert names == ["node1", "node2"]
    plan = _plan(config, jobs.node_addresses(names, job.env))
    steps = job.steps(plan, job_id=job.job_id, node_names=names,
                      env=jobs.command_environment({**job.env, **request.environment}))
    started = job.start(steps)
    wait_for(lambda: len(job.task_pids()) == 2, timeout=30)
    two_nodes.fail_node("node2")
    view = job.wait_status(_status.FAILED)
    assert view.error is not None
    assert view.error.startswith("Slurm node node2 (runyard test: node failed")
    assert view.error.endswith(f"failed: Slurm job {job.job_id} ended NODE_FAIL")
    # srun of the step on the failed node exits 0 (Slurm 22.05): only its words say what
    # happened, so a driver reads them (node_failure) before it trusts that 0
    assert [p.wait(30) for p in started] == [0, 0]
    assert jobs.node_failure(job.log("srun_worker_1.txt")) == "node2"
    assert jobs.node_failure(job.log("srun_worker_0.txt")) is None
    assert compute.get_status().node_state_counts.unusable_node_count == 1  # type: ignore[union-attr]
    assert {n["nodeId"]: n["nodeState"] for n in compute.list_nodes()}["node2"] == "unusable"


@pytest.mark.mpi
def test_mpi_ranks_are_one_pmix_step_across_two_nodes_told_their_ranks(
        workspace: Workspace, two_nodes: SlurmCluster, new_job: NewJob,
        monkeypatch: pytest.MonkeyPatch) -> None:
    probe = two_nodes.run("srun", "--mpi=pmix", "true", check=False)
    if "can not load PMIx library" in probe.stderr:
        reason = "Slurm's mpi/pmix plugin finds no libpmix.so (make system-deps: libpmix-dev)"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    monkeypatch.setenv("SLURM_CONF", two_nodes.env["SLURM_CONF"])
    compute = ComputeTarget.attach(workspace, "two", SlurmCompute.attach_configuration())
    assert isinstance(compute, SlurmCompute)
    job = new_job(compute)
    config = MpiConfiguration(process_count_per_node=1, node_count=2)
    compute.check_submission({"distributed": config.to_dict()})
    request = job.request(_plan(config, ["a", "b"]))
    job.submit(jobs.batch_script(request))
    job.wait_status(_status.RUNNING)
    names = jobs.hostnames(job.info().nodes or "", job.env)
    plan = _plan(config, jobs.node_addresses(names, job.env))
    [step] = job.steps(plan, job_id=job.job_id, node_names=names,
                       env=jobs.command_environment({**job.env, **request.environment}))
    [srun] = job.start([step])
    assert srun.wait(60) == 0, job.log("srun_mpi.txt")
    told = [json.loads(job.log(f"logs/worker_{rank}.txt").splitlines()[0]) for rank in (0, 1)]
    assert [(t["RANK"], t["WORLD_SIZE"], t["NODE_RANK"], t["SLURMD_NODENAME"]) for t in told] \
        == [("0", "2", "0", "node1"), ("1", "2", "1", "node2")]
    assert jobs.release(job.job_id, job.env)
    job.wait_status(_status.COMPLETED)
