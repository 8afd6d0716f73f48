"""Several cooperating processes in one run, on this machine (plain Python scripts; the
real TensorFlow, MPI and PyTorch runs are in their own test files)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig
from runyard._procfs import alive
from runyard.distributed import PyTorchConfiguration, TensorflowConfiguration

from .conftest import wait_for

# A TF1-style cluster member: parameter servers block forever, like server.join().
CLUSTER_MEMBER = """
    import json, os, sys, time
    from runyard import Run
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    run = Run.get_context()
    print("I am", task["type"], task["index"], "rank", os.environ["RANK"],
          "of", os.environ["WORLD_SIZE"], flush=True)
    with open(os.path.join(sys.argv[1], f"{task['type']}_{task['index']}.pid"), "w") as f:
        f.write(str(os.getpid()))
    if task["type"] == "ps":
        while True:
            time.sleep(1)
    deadline = time.monotonic() + 30  # the others work once the parameter server serves
    while not os.path.exists(os.path.join(sys.argv[1], "ps_0.pid")):
        assert time.monotonic() < deadline, "the parameter server did not start"
        time.sleep(0.05)
    run.log("index", task["index"])
    time.sleep(5 if task["type"] == "chief" else 0.5 * task["index"])
    if task["type"] == "worker" and task["index"] == int(sys.argv[2]):
        print("worker giving up", flush=True)
        sys.exit(1)
"""


def _submit(experiment: Experiment, folder: Path, arguments: list[str],
            config: object) -> Run:
    return experiment.submit(ScriptRunConfig(folder, "train.py", arguments=arguments,
                                             distributed_job_config=config))


@pytest.mark.slow
def test_parameter_servers_are_stopped_once_worker_0_succeeds(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    run = _submit(experiment, source(CLUSTER_MEMBER), [str(tmp_path), "-1"],
                  TensorflowConfiguration(worker_count=2, parameter_server_count=1))
    details = run.wait_for_completion(show_output=True, timeout_seconds=60)
    assert details["status"] == "Completed"
    shown = capsys.readouterr().out
    assert "[worker_0] I am worker 0 rank 0 of 3" in shown
    assert "[ps_0] I am ps 0 rank 2 of 3" in shown
    assert not alive(int((tmp_path / "ps_0.pid").read_text()))
    files = run.get_file_names()
    assert {"logs/worker_0.txt", "logs/worker_1.txt", "logs/ps_0.txt"} <= set(files)
    points = run.workspace.store.get_metrics(run.id, "index")
    assert sorted((p["value"], p["rank"]) for p in points) == [(0.0, 0), (1.0, 1)]


@pytest.mark.slow
def test_a_worker_that_fails_fails_the_run_and_stops_the_rest(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    run = _submit(experiment, source(CLUSTER_MEMBER), [str(tmp_path), "1"],
                  TensorflowConfiguration(worker_count=3, parameter_server_count=1,
                                          chief_count=1))
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Failed"
    error = details["error"]["error"]["message"]
    assert "worker 1 (rank 2)" in error
    assert "exited with code 1: worker giving up" in error
    for name in ("chief_0", "worker_0", "worker_2", "ps_0"):
        pid_file = tmp_path / f"{name}.pid"
        if pid_file.exists():
            wait_for(lambda f=pid_file: not alive(int(f.read_text())), timeout=10)


@pytest.mark.slow
def test_cancel_stops_every_process_of_the_plan(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    folder = source("""
        import os, sys, time
        with open(os.path.join(sys.argv[1], os.environ["RANK"] + ".pid"), "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)
    """)
    run = _submit(experiment, folder, [str(tmp_path)], PyTorchConfiguration(process_count=3))
    wait_for(lambda: len(list(tmp_path.glob("*.pid"))) == 3)
    pids = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
    asked = time.monotonic()
    run.cancel()
    assert run.wait_for_completion(raise_on_error=False,
                                   timeout_seconds=10)["status"] == "Canceled"
    assert time.monotonic() - asked < 10
    assert not any(alive(pid) for pid in pids)


def test_pytorch_processes_get_torchruns_variables(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    folder = source("""
        import os
        from runyard import Run
        keys = ["MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "NODE_RANK"]
        Run.get_context().log("env", " ".join(f"{k}={os.environ[k]}" for k in keys))
    """)
    run = _submit(experiment, folder, [], PyTorchConfiguration(process_count=2))
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    seen = sorted(run.get_metrics()["env"])
    port = seen[0].split("MASTER_PORT=")[1].split()[0]
    assert seen == [
        f"MASTER_ADDR=127.0.0.1 MASTER_PORT={port} RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 NODE_RANK=0",
        f"MASTER_ADDR=127.0.0.1 MASTER_PORT={port} RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 NODE_RANK=0",
    ]


@pytest.mark.slow
def test_with_a_chief_and_parameter_servers_the_workers_are_stopped_once_it_succeeds(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    folder = source("""
        import json, os, sys, time
        task = json.loads(os.environ["TF_CONFIG"])["task"]
        with open(os.path.join(sys.argv[1], f"{task['type']}_{task['index']}.pid"), "w") as f:
            f.write(str(os.getpid()))
        if task["type"] != "chief":
            while True:  # server.join(): workers and parameter servers serve the chief
                time.sleep(1)
        servers = ["worker_0", "worker_1", "ps_0"]  # the chief works once they all serve
        deadline = time.monotonic() + 30
        while not all(os.path.exists(os.path.join(sys.argv[1], f"{s}.pid")) for s in servers):
            assert time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.05)
    """)
    run = _submit(experiment, folder, [str(tmp_path)],
                  TensorflowConfiguration(worker_count=2, parameter_server_count=1,
                                          chief_count=1))
    started = time.monotonic()
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    assert time.monotonic() - started < 8  # not the straggler grace of 10 s
    for name in ("worker_0", "worker_1", "ps_0"):
        assert not alive(int((tmp_path / f"{name}.pid").read_text()))
