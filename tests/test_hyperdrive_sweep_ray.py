"""A HyperDrive sweep whose children run on a real Ray cluster (an owned head-only cluster
of 1 CPU on this machine), its driver in the parent's supervisor here."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.compute import ComputeTarget, RayCompute
from runyard.errors import ComputeTargetException
from runyard.hyperdrive import GridParameterSampling, HyperDriveConfig, choice

from .conftest import _processes_mentioning, wait_for

pytest.importorskip("ray")

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[RayCompute]:
    workspace = Workspace.create("hdray", path=tmp_path / "ws")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
        config = RayCompute.provisioning_configuration(min_nodes=1, max_nodes=1,
                                                       node_resources={"CPU": 1})
        compute = ComputeTarget.create(workspace, "cluster", config)
        try:
            compute.wait_for_completion(timeout_in_minutes=3)
            yield compute
        finally:
            for row in workspace.store.list_runs():
                if row["status"] not in ("Completed", "Failed", "Canceled"):
                    Run.get(workspace, row["id"]).cancel()
            wait_for(lambda: all(r["status"] in ("Completed", "Failed", "Canceled")
                                 for r in workspace.store.list_runs()), 120, every=0.5)
            try:
                compute.delete()
            except ComputeTargetException:
                compute._stop_all_nodes()
            for pid in _processes_mentioning(str(workspace.path)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_a_sweeps_children_run_on_its_ray_cluster(ray_cluster: RayCompute,
                                                  tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(textwrap.dedent("""
        import argparse, os
        from runyard import Run
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float)
        run = Run.get_context()
        run.log("acc", parser.parse_args().lr)
        run.log("ray_node", os.environ["RUNYARD_RAY_NODE_ID"])
    """))
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(source), "train.py", compute_target=ray_cluster),
        hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.1, 0.2)}),
        primary_metric_name="acc", primary_metric_goal="maximize",
        max_total_runs=2, max_concurrent_runs=1)
    run = Experiment(ray_cluster.workspace, "hd").submit(config)
    run.wait_for_completion(timeout_seconds=300)
    assert run.get_status() == "Completed"
    children = list(run.get_children())
    assert len(children) == 2
    for child in children:
        assert child.get_status() == "Completed"
        assert child.get_details()["target"] == "cluster"
        assert child.get_metrics()["ray_node"]   # it ran on a Ray node
    best = run.get_best_run_by_primary_metric()
    assert best is not None
    assert best.get_hyperparameters() == {"--lr": 0.2}
