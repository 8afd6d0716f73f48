"""Runs on the Slurm compute, end to end against a real Slurm (tests/slurm.py): submitted as
on any compute, each run is a batch job whose processes are srun steps
(runyard.compute.slurm_executor); docs/slurm.md, "The Slurm compute"."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.compute import ComputeTarget, SlurmCompute
from runyard.distributed import PyTorchConfiguration, TensorflowConfiguration

from . import slurm
from .conftest import wait_for
from .slurm import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tf-mnist"

# writes its pid (PIDS/<rank>), then acts as RUNYARD_TEST_MODE says
TASK = """
    import os, signal, sys, time
    from runyard import Run
    rank = os.environ.get("RANK", "0")
    role = os.environ.get("RUNYARD_ROLE", "worker")
    print(f"first line from {role} {rank} on", os.environ.get("SLURMD_NODENAME"), flush=True)
    with open(os.path.join(os.environ["PIDS"], f"{role}_{rank}"), "w") as f:
        f.write(str(os.getpid()))
    mode = os.environ.get("MODE", "exit")
    run = Run.get_context()
    if mode == "serve" and role == "ps" or mode == "sleep" or \\
            mode == "fail" and rank != "1":
        signal.signal(signal.SIGTERM, lambda *_: (print("stopped", flush=True), sys.exit(0)))
        time.sleep(300)
    if mode == "fail":
        print("rank 1 failing on purpose", flush=True)
        sys.exit(3)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/result.txt", "w") as f:
        f.write(f"done by {role} {rank}")
    print("done", flush=True)
"""


@pytest.fixture
def hpc(workspace: Workspace, slurm_cluster: SlurmCluster,
        monkeypatch: pytest.MonkeyPatch) -> SlurmCompute:
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    compute = ComputeTarget.attach(workspace, "hpc", SlurmCompute.attach_configuration(
        partition=slurm_cluster.partition, time_limit=20))
    monkeypatch.delenv("SLURM_CONF")  # the target keeps reaching its cluster
    assert isinstance(compute, SlurmCompute)
    return compute


@pytest.fixture
def pids(tmp_path: Path) -> Path:
    folder = tmp_path / "pids"
    folder.mkdir()
    return folder


@pytest.fixture
def on_slurm(experiment: Experiment, source: Callable[..., Path],
             pids: Path) -> Callable[..., Run]:
    def go(compute: SlurmCompute, mode: str = "exit", **config: object) -> Run:
        return experiment.submit(ScriptRunConfig(
            str(source(TASK)), "train.py", compute_target=compute,
            environment_variables={"PIDS": str(pids), "MODE": mode}, **config))  # type: ignore[arg-type]
    return go


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _task_pids(folder: Path) -> dict[str, int]:
    return {p.name: int(p.read_text()) for p in folder.iterdir() if p.read_text()}


def _job_id(run: Run) -> str:
    name = f"runyard-{run.id}"
    for stage in run.get_details()["stages"]:
        detail = stage["detail"] or ""
        if detail.startswith("Slurm job "):
            return detail.split()[2]
    raise AssertionError(f"no Slurm job named in {name}'s stages")


def _log(run: Run, name: str) -> str:
    with run.workspace.artifacts.open(f"runs/{run.id}/logs/{name}") as handle:
        return handle.read().decode()


def _stages(run: Run) -> list[tuple[str, str | None]]:
    return [(s["status"], s["detail"]) for s in run.get_details()["stages"]]


def test_a_single_process_run_completes_with_its_logs_metrics_and_outputs(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, on_slurm: Callable[..., Run]) -> None:
    run = on_slurm(hpc)
    details = run.wait_for_completion(timeout_seconds=120)
    assert details["status"] == "Completed", details.get("error")
    statuses = [status for status, _ in _stages(run)]
    assert statuses[:3] == ["NotStarted", "Preparing", "Queued"]
    assert statuses[-4:] == ["Starting", "Running", "Finalizing", "Completed"]
    assert run.get_metrics()["loss"] == [0.5, 0.25]
    files = run.get_file_names()
    assert "outputs/result.txt" in files
    assert "logs/driver_0.txt" in files            # as on the local compute
    first = _log(run, "driver_0.txt").splitlines()[0]
    assert first == f"first line from driver 0 on {slurm_cluster.node_name}"
    # the job held the node for the run and was released: COMPLETED, not CANCELLED
    job = slurm_cluster.job_state(_job_id(run))
    assert job["JobName"] == f"runyard-{run.id}"
    assert job["JobState"] == "COMPLETED"


def test_v1s_attach_pattern_attaches_a_slurm_cluster(
        workspace: Workspace, slurm_cluster: SlurmCluster,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from runyard.azureml.core import Workspace as V1Workspace
    from runyard.azureml.core.compute import ComputeTarget as V1ComputeTarget
    from runyard.azureml.core.compute import SlurmCompute as V1SlurmCompute

    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    ws = V1Workspace.from_config(str(workspace.path))
    target = V1ComputeTarget.attach(ws, "hpc", V1SlurmCompute.attach_configuration(
        partition=slurm_cluster.partition))
    assert isinstance(target, SlurmCompute)
    assert type(V1ComputeTarget(ws, "hpc")) is SlurmCompute


@pytest.mark.tf
def test_the_mnist_example_with_two_workers_completes(
        hpc: SlurmCompute, workspace: Workspace, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from runyard.train import TensorFlow

    # an environment cache of the test's own (uv's download cache is shared and warm)
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    est = TensorFlow(
        source_directory=str(EXAMPLE), entry_script="tf_mnist.py", compute_target=hpc,
        script_params={"--data-folder": str(EXAMPLE / "data" / "mnist"), "--batch-size": 50,
                       "--learning-rate": 0.05, "--epochs": 2, "--steps-per-epoch": 40},
        distributed_training=TensorflowConfiguration(worker_count=2,
                                                     parameter_server_count=0))
    run = Experiment(workspace, "tf-mnist").submit(est)
    details = run.wait_for_completion(timeout_seconds=900)
    assert details["status"] == "Completed", details.get("error")
    store = workspace.store
    ranks = sorted(row["rank"] for row in store.get_metrics(run.id, "validation_acc"))
    assert ranks == [0, 0, 1, 1]        # both workers, as Slurm steps, each epoch
    assert store.get_metrics(run.id, "final_acc")[0]["value"] > 0.7
    assert "outputs/model/mnist.keras" in run.get_file_names()


DDP_STEP = """
    import os
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from runyard import Run

    dist.init_process_group(os.environ["RUNYARD_TORCH_BACKEND"])
    rank = dist.get_rank()
    torch.manual_seed(rank)
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(8, 4) * (rank + 1)).pow(2).mean().backward()
    optimizer.step()
    run = Run.get_context()
    run.log("checksum", round(sum(p.detach().sum().item() for p in model.parameters()), 6))
    run.log("world_size", dist.get_world_size())
    dist.destroy_process_group()
"""


def test_a_two_process_pytorch_gloo_run_completes(
        hpc: SlurmCompute, experiment: Experiment, source: Callable[..., Path]) -> None:
    pytest.importorskip("torch")
    run = experiment.submit(ScriptRunConfig(
        str(source(DDP_STEP)), "train.py", compute_target=hpc,
        distributed_job_config=PyTorchConfiguration(communication_backend="Gloo",
                                                    process_count=2)))
    details = run.wait_for_completion(timeout_seconds=180)
    assert details["status"] == "Completed", details.get("error")
    points = run.workspace.store.get_metrics(run.id, "checksum")
    assert sorted(p["rank"] for p in points) == [0, 1]
    assert points[0]["value"] == points[1]["value"]
    assert run.get_metrics()["world_size"] == [2.0, 2.0]


def test_a_parameter_server_is_stopped_once_the_workers_decide(
        hpc: SlurmCompute, on_slurm: Callable[..., Run], pids: Path) -> None:
    run = on_slurm(hpc, "serve", distributed_job_config=TensorflowConfiguration(
        worker_count=1, parameter_server_count=1))
    details = run.wait_for_completion(timeout_seconds=120)
    assert details["status"] == "Completed", details.get("error")
    assert _log(run, "ps_0.txt").splitlines()[-1] == "stopped"   # TERM to its step, as on local
    assert not any(_alive(pid) for pid in _task_pids(pids).values())


def test_cancel_ends_the_run_canceled_and_its_job_with_no_process_left(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, on_slurm: Callable[..., Run],
        pids: Path) -> None:
    run = on_slurm(hpc, "sleep", distributed_job_config=PyTorchConfiguration(process_count=2))
    wait_for(lambda: len(_task_pids(pids)) == 2, timeout=90)
    run.cancel()
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Canceled"
    assert slurm_cluster.job_state(_job_id(run))["JobState"] == "CANCELLED"
    wait_for(lambda: not any(_alive(pid) for pid in _task_pids(pids).values()), timeout=15)
    # nothing of the run is left: no task, no srun, no driver (each has its id)
    wait_for(lambda: not slurm.processes_mentioning(run.id), timeout=15)


def test_a_failing_rank_fails_the_run_naming_it_and_stops_the_other(
        hpc: SlurmCompute, on_slurm: Callable[..., Run], pids: Path) -> None:
    run = on_slurm(hpc, "fail", distributed_job_config=PyTorchConfiguration(process_count=2))
    started = time.monotonic()
    details = run.wait_for_completion(timeout_seconds=120, raise_on_error=False)
    assert details["status"] == "Failed"
    assert time.monotonic() - started < 90      # rank 0 (asleep) did not hold the run
    assert details["error"]["error"]["message"] == \
        "worker 1 (rank 1): train.py exited with code 3: rank 1 failing on purpose"
    assert not any(_alive(pid) for pid in _task_pids(pids).values())


@pytest.fixture
def doomed_nodes() -> Iterator[SlurmCluster]:
    """A two-node cluster of its own: the test fails one of its nodes."""
    slurm.require_slurm()
    with slurm.running_cluster(nodes=2, cpus=1) as cluster:
        yield cluster


def test_a_failed_node_fails_the_run_naming_the_node(
        workspace: Workspace, doomed_nodes: SlurmCluster, on_slurm: Callable[..., Run],
        pids: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_CONF", doomed_nodes.env["SLURM_CONF"])
    compute = ComputeTarget.attach(workspace, "two", SlurmCompute.attach_configuration())
    monkeypatch.delenv("SLURM_CONF")
    assert isinstance(compute, SlurmCompute)
    run = on_slurm(compute, "sleep", distributed_job_config=PyTorchConfiguration(
        process_count=2, node_count=2))
    wait_for(lambda: len(_task_pids(pids)) == 2, timeout=90)
    doomed_nodes.fail_node("node2")
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Failed"
    error = details["error"]["error"]["message"]
    assert error.startswith("Slurm node node2 (runyard test: node failed"), error
    assert error.endswith("ended NODE_FAIL"), error
    wait_for(lambda: not any(_alive(pid) for pid in _task_pids(pids).values()), timeout=15)


def test_a_run_is_queued_with_slurms_reason_while_its_job_waits_for_resources(
        hpc: SlurmCompute, slurm_cluster: SlurmCluster, on_slurm: Callable[..., Run]) -> None:
    cpus = slurm.machine_cpus()
    blocker = slurm_cluster.run("sbatch", "--parsable", f"--ntasks={cpus}",
                                "--wrap", "sleep 300").stdout.strip()
    try:
        wait_for(lambda: slurm_cluster.job_state(blocker)["JobState"] == "RUNNING",
                 timeout=30)
        run = on_slurm(hpc)
        wait_for(lambda: any("pending: Resources (waiting for free nodes)" in (detail or "")
                             for status, detail in _stages(run) if status == "Queued"),
                 timeout=60, every=0.2)
        assert run.get_status() == "Queued"
    finally:
        slurm_cluster.run("scancel", blocker, check=False)
    assert run.wait_for_completion(timeout_seconds=120)["status"] == "Completed"
    job = _job_id(run)
    assert ("Queued", f"Slurm job {job} pending: Resources (waiting for free nodes)") in \
        _stages(run)


def test_a_run_slurm_can_never_start_fails_naming_the_reason(
        hpc: SlurmCompute, workspace: Workspace, on_slurm: Callable[..., Run]) -> None:
    hpc.config["extra_sbatch_args"] = ["--cpus-per-task=64"]
    workspace.store.put_compute_target(hpc.name, hpc.type, hpc.config)
    run = on_slurm(hpc)
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Failed"
    message = details["error"]["error"]["message"]
    assert "pending: PartitionConfig" in message
    assert "Slurm will never start it" in message


def test_a_run_past_its_slurm_time_limit_fails_saying_so(
        workspace: Workspace, slurm_cluster: SlurmCluster, on_slurm: Callable[..., Run],
        pids: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    short = ComputeTarget.attach(workspace, "short", SlurmCompute.attach_configuration(
        partition=slurm_cluster.partition, time_limit=1))
    monkeypatch.delenv("SLURM_CONF")
    run = on_slurm(short, "sleep")
    details = run.wait_for_completion(timeout_seconds=180, raise_on_error=False)
    assert details["status"] == "Failed"
    assert details["error"]["error"]["message"] == (
        f"Slurm job {_job_id(run)} reached its time limit (00:01:00): Slurm ended it "
        f"(TIMEOUT)")
    assert not any(_alive(pid) for pid in _task_pids(pids).values())
