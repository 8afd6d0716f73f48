"""The plan is built once per run, at submit, and travels in the run's RunSpec: the
submitting process makes it once, the run driver binds the plan it was given (its log
says where the plan came from), and a run written by the previous version (no plan in
its config) still runs, its plan made by the driver."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard._spec import RunSpec
from runyard.artifacts import snapshot
from runyard.compute import ComputeTarget, SlurmCompute, get_compute_target
from runyard.distributed import PyTorchConfiguration, TensorflowConfiguration, plan
from runyard.experiment import new_run_id

from .slurm import SlurmCluster

# what each process of the run was told by its plan
TASK = """
    import json, os
    print("told", json.dumps({k: os.environ.get(k) for k in
          ("RANK", "WORLD_SIZE", "RUNYARD_ROLE", "MASTER_ADDR", "TF_CONFIG")}), flush=True)
"""


@pytest.fixture
def plans_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every plan this (the submitting) process makes: every plan is made by plan_for
    (make_plan too), whichever module's name for it is called."""
    made: list[str] = []
    original = plan.plan_for

    def counting(*args: Any, **kwargs: Any) -> plan.Plan:
        made.append("plan_for")
        return original(*args, **kwargs)

    for module in [m for name, m in sys.modules.items() if name.startswith("runyard")]:
        if getattr(module, "plan_for", None) is original:
            monkeypatch.setattr(module, "plan_for", counting)
    return made


def _told(run: Run) -> list[dict[str, str | None]]:
    found = []
    for name in run.get_file_names():
        if name.startswith("logs/") and name.endswith(".txt"):
            with run.workspace.artifacts.open(f"runs/{run.id}/{name}") as handle:
                for line in handle.read().decode().splitlines():
                    if line.startswith("told "):
                        found.append(json.loads(line[5:]))
    return sorted(found, key=lambda t: int(t["RANK"] or 0))


def _supervisor_log(run: Run) -> str:
    with run.workspace.artifacts.open(f"runs/{run.id}/logs/supervisor.txt") as handle:
        return str(handle.read().decode())


@pytest.mark.slow
def test_a_local_run_makes_its_plan_once_at_submit(
        experiment: Experiment, source: Callable[..., Path], plans_made: list[str]) -> None:
    config = TensorflowConfiguration(worker_count=2, parameter_server_count=0)
    run = experiment.submit(ScriptRunConfig(source(TASK), "train.py",
                                            distributed_job_config=config))
    assert plans_made == ["plan_for"]            # made once, by submit
    stored = RunSpec.from_json(run.workspace.store.get_run(run.id)["config"])
    assert stored.plan is not None
    assert not stored.plan.bound                 # bound by the driver at Starting
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    assert plans_made == ["plan_for"]
    log = _supervisor_log(run)
    assert "plan: made at submit (tensorflow, 2 process(es) on 1 node(s))" in log
    assert "plan: made now" not in log
    told = _told(run)
    assert [t["RANK"] for t in told] == ["0", "1"]
    assert json.loads(told[1]["TF_CONFIG"] or "")["task"] == {"type": "worker", "index": 1}


def _write_run(experiment: Experiment, folder: Path, config: dict[str, Any]) -> Run:
    """A run row as `submit` writes it, with `config` as its config, launched."""
    ws = experiment.workspace
    taken = snapshot.take(folder, ws.artifacts)
    run_id = new_run_id(experiment.name)
    compute = get_compute_target(ws, None)
    ws.store.create_run(run_id, experiment.name, compute_target=compute.name, config=config,
                        snapshot_id=taken.id)
    compute.launch(run_id)
    return Run(experiment, run_id)


@pytest.mark.slow
def test_the_driver_runs_the_plan_it_was_given_not_one_of_its_own(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    # the spec's plan (two PyTorch processes) is not what its distributed config (none:
    # one process) would make: the processes follow the plan that traveled
    folder = source(TASK)
    spec = RunSpec(script="train.py", interpreter=sys.executable)
    given = plan.plan_for(PyTorchConfiguration(process_count=2).to_dict())
    run = _write_run(experiment, folder, {**spec.to_json(), "plan": given.to_json()})
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    told = _told(run)
    assert [(t["RANK"], t["WORLD_SIZE"], t["MASTER_ADDR"]) for t in told] == [
        ("0", "2", "127.0.0.1"), ("1", "2", "127.0.0.1")]
    assert "plan: made at submit (pytorch, 2 process(es) on 1 node(s))" in \
        _supervisor_log(run)


@pytest.mark.slow
def test_a_run_the_previous_version_wrote_gets_its_plan_from_the_driver(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    previous = {"kind": "script", "script": "train.py", "arguments": [],
                "max_run_duration_seconds": 600, "interpreter": sys.executable,
                "environment": None, "distributed": TensorflowConfiguration(
                    worker_count=2, parameter_server_count=0).to_dict() | {"node_count": 1},
                "environment_variables": {}, "source_directory": "/gone",
                "snapshot": {"files": 1, "bytes": 1, "new_bytes": 1}}
    run = _write_run(experiment, source(TASK), previous)
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    assert [t["RANK"] for t in _told(run)] == ["0", "1"]
    assert "plan: made now (tensorflow)" in _supervisor_log(run)


@pytest.fixture
def hpc(workspace: Workspace, slurm_cluster: SlurmCluster,
        monkeypatch: pytest.MonkeyPatch) -> SlurmCompute:
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    compute = ComputeTarget.attach(workspace, "hpc", SlurmCompute.attach_configuration(
        partition=slurm_cluster.partition, time_limit=20))
    monkeypatch.delenv("SLURM_CONF")
    assert isinstance(compute, SlurmCompute)
    return compute


@pytest.mark.slurm
@pytest.mark.slow
def test_a_slurm_run_makes_its_plan_once_at_submit(
        experiment: Experiment, source: Callable[..., Path], hpc: SlurmCompute,
        plans_made: list[str]) -> None:
    config = PyTorchConfiguration(process_count=2)
    run = experiment.submit(ScriptRunConfig(source(TASK), "train.py", compute_target=hpc,
                                            distributed_job_config=config))
    # made once: the partition check at submit and the batch job's shape use it
    assert plans_made == ["plan_for"]
    assert run.wait_for_completion(timeout_seconds=90)["status"] == "Completed"
    assert plans_made == ["plan_for"]
    assert "plan: made at submit (pytorch, 2 process(es) on 1 node(s))" in \
        _supervisor_log(run)
    assert [(t["RANK"], t["WORLD_SIZE"]) for t in _told(run)] == [("0", "2"), ("1", "2")]
