"""A HyperDrive sweep whose children run on the Slurm compute, against a real Slurm
(tests/slurm.py), its driver in the parent's supervisor here."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runyard import Experiment, ScriptRunConfig, Workspace
from runyard.compute import ComputeTarget, SlurmCompute
from runyard.hyperdrive import GridParameterSampling, HyperDriveConfig, choice

from .slurm import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def test_a_sweeps_children_run_as_slurm_jobs(workspace: Workspace, slurm_cluster: SlurmCluster,
                                            monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    compute = ComputeTarget.attach(workspace, "hpc", SlurmCompute.attach_configuration(
        partition=slurm_cluster.partition, time_limit=20))
    monkeypatch.delenv("SLURM_CONF")  # the target keeps reaching its cluster
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(textwrap.dedent("""
        import argparse, os
        from runyard import Run
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float)
        run = Run.get_context()
        run.log("acc", parser.parse_args().lr)
        run.log("slurm_job", os.environ["SLURM_JOB_ID"])
    """))
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(source), "train.py", compute_target=compute),
        hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.1, 0.2)}),
        primary_metric_name="acc", primary_metric_goal="maximize",
        max_total_runs=2, max_concurrent_runs=2)
    run = Experiment(workspace, "hd").submit(config)
    run.wait_for_completion(timeout_seconds=300)
    assert run.get_status() == "Completed"
    children = list(run.get_children())
    assert len(children) == 2
    jobs = set()
    for child in children:
        assert child.get_status() == "Completed"
        assert child.get_details()["target"] == "hpc"
        jobs.add(child.get_metrics()["slurm_job"])
    assert len(jobs) == 2   # a batch job each
    best = run.get_best_run_by_primary_metric()
    assert best is not None
    assert best.get_hyperparameters() == {"--lr": 0.2}
