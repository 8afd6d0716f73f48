"""MPI runs: ranks started by OpenMPI's mpirun, mpi4py sees them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, ScriptRunConfig
from runyard.distributed import MpiConfiguration
from runyard.environment import CondaDependencies, Environment
from runyard.errors import ValidationError

pytestmark = [pytest.mark.mpi,
              pytest.mark.skipif(shutil.which("mpirun") is None,
                                 reason="no mpirun (make system-deps installs OpenMPI)")]

ALLREDUCE = """
    import os
    from mpi4py import MPI
    from runyard import Run
    comm = MPI.COMM_WORLD
    total = comm.allreduce(comm.Get_rank() + 1)
    print("rank", comm.Get_rank(), "of", comm.Get_size(), "sum", total, flush=True)
    run = Run.get_context()
    run.log("sum", total)
    run.log("rank_seen", int(os.environ["RANK"]))
    assert int(os.environ["RANK"]) == comm.Get_rank()
    assert int(os.environ["WORLD_SIZE"]) == comm.Get_size()
"""


@pytest.mark.slow
def test_an_mpi4py_allreduce_over_three_ranks(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    env = Environment("mpi")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["mpi4py==4.1.2"])
    run = experiment.submit(ScriptRunConfig(
        source(ALLREDUCE), "train.py", environment=env,
        distributed_job_config=MpiConfiguration(process_count_per_node=3)))
    details = run.wait_for_completion(show_output=True, timeout_seconds=120)
    assert details["status"] == "Completed"
    points = run.workspace.store.get_metrics(run.id, "sum")
    assert sorted(p["rank"] for p in points) == [0, 1, 2]
    assert {p["value"] for p in points} == {6.0}
    assert sorted(p["value"] for p in run.workspace.store.get_metrics(run.id, "rank_seen")) \
        == [0.0, 1.0, 2.0]
    assert {"logs/worker_0.txt", "logs/worker_1.txt", "logs/worker_2.txt"} <= \
        set(run.get_file_names())
    assert "[worker_2] rank 2 of 3 sum 6" in capsys.readouterr().out


@pytest.mark.slow
def test_a_failing_rank_fails_the_mpi_run(experiment: Experiment,
                                         source: Callable[..., Path]) -> None:
    folder = source("""
        import os, sys, time
        if os.environ["RANK"] == "1":
            print("rank 1 fails", flush=True)
            sys.exit(3)
        time.sleep(60)
    """)
    run = experiment.submit(ScriptRunConfig(
        folder, "train.py", distributed_job_config=MpiConfiguration(process_count_per_node=2)))
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Failed"
    assert "mpirun" in details["error"]["error"]["message"]


def test_mpi_without_mpirun_fails_at_submit(experiment: Experiment,
                                           source: Callable[..., Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ValidationError, match="apt-get install openmpi-bin"):
        experiment.submit(ScriptRunConfig(
            source("pass"), "train.py",
            distributed_job_config=MpiConfiguration(process_count_per_node=2)))
    assert experiment.workspace.store.list_runs() == []


@pytest.mark.slow
def test_a_rank_that_fails_after_mpi_init_does_not_hang_the_job(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    env = Environment("mpi")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["mpi4py==4.1.2"])
    folder = source("""
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        if comm.Get_rank() == 1:
            raise RuntimeError("rank 1 cannot go on")
        comm.Barrier()  # rank 0 would wait here forever
    """)
    run = experiment.submit(ScriptRunConfig(
        folder, "train.py", environment=env,
        distributed_job_config=MpiConfiguration(process_count_per_node=2)))
    started = time.monotonic()
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Failed"
    assert time.monotonic() - started < 30
    assert "rank 1 cannot go on" in run.read_log("logs/worker_1.txt").decode()
