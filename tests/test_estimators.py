"""Estimators: script_params to argv, the environment they make, what they refuse."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import ComputeTarget, Environment, Experiment, Workspace
from runyard.errors import UnknownComputeTargetError, ValidationError
from runyard.train import Estimator, TensorFlow
from runyard.train.estimator import script_params_to_arguments


def test_script_params_become_argv_in_the_order_given() -> None:
    assert script_params_to_arguments({
        "--data-folder": "/data", "--batch-size": 50, "--verbose": True, "--skip": False,
        "--none": None, "--learning-rate": 0.01,
    }) == ["--data-folder", "/data", "--batch-size", 50, "--verbose", "--learning-rate", 0.01]
    with pytest.raises(ValidationError, match="dict of flag to value"):
        script_params_to_arguments(["--x", 1])  # type: ignore[arg-type]


def test_the_tensorflow_estimator_pins_tensorflow_and_the_keras_that_works(
        tmp_path: Path) -> None:
    est = TensorFlow(str(tmp_path), entry_script="train.py", pip_packages=["pillow"])
    env = est._environment()
    assert env.build_spec()["pip"] == ["pillow", "tensorflow-cpu==2.21.*", "tf-keras==2.21.*"]
    assert env.environment_variables["TF_USE_LEGACY_KERAS"] == "1"
    pinned = TensorFlow(str(tmp_path), entry_script="train.py", framework_version="2.20.0")
    assert "tensorflow-cpu==2.20.0" in pinned._environment().build_spec()["pip"]
    with pytest.raises(ValidationError, match=r"not a TensorFlow 2\.x version"):
        TensorFlow(str(tmp_path), entry_script="train.py", framework_version="1.13")


def test_an_estimator_without_packages_uses_the_interpreter_as_it_is(tmp_path: Path) -> None:
    assert Estimator(str(tmp_path), entry_script="t.py")._environment().user_managed
    assert TensorFlow(str(tmp_path), entry_script="t.py",
                      user_managed=True)._environment().user_managed


def test_what_an_estimator_refuses(experiment: Experiment, source: Callable[..., Path]) -> None:
    folder = str(source("pass"))
    with pytest.raises(ValidationError, match="entry_script"):
        experiment.submit(Estimator(folder))
    with pytest.raises(ValidationError, match="either environment_definition or pip_packages"):
        experiment.submit(Estimator(folder, entry_script="train.py", pip_packages=["six"],
                                    environment_definition=Environment("e")))
    with pytest.raises(ValidationError, match="local compute is one node"):
        experiment.submit(Estimator(folder, entry_script="train.py", node_count=2))
    if shutil.which("nvidia-smi") is None:
        with pytest.raises(ValidationError, match="no NVIDIA GPU"):
            experiment.submit(TensorFlow(folder, entry_script="train.py", use_gpu=True))
    assert experiment.workspace.store.list_runs() == []


def test_compute_target_by_name_as_in_v1(workspace: Workspace) -> None:
    local = ComputeTarget(workspace, "local")
    assert local.name == "local"
    assert local.config["max_concurrent_runs"] >= 2
    with pytest.raises(UnknownComputeTargetError, match="gpucluster"):
        ComputeTarget(workspace, "gpucluster")


@pytest.mark.slow
def test_an_estimator_run_gets_its_parameters_and_packages(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    folder = source("""
        import sys, six
        from runyard import Run
        Run.get_context().log("argv", " ".join(sys.argv[1:]))
        Run.get_context().log("six", six.__version__)
    """)
    est = Estimator(str(folder), entry_script="train.py", pip_packages=["six==1.16.0"],
                    script_params={"--lr": 0.5, "--fast": True, "--slow": False},
                    environment_variables={"MODE": "test"})
    run = experiment.submit(est)
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics() == {"argv": "--lr 0.5 --fast", "six": "1.16.0"}


@pytest.mark.slow
def test_estimator_inputs_reach_the_run_as_environment_variables(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n")
    ds = experiment.workspace.get_default_datastore()
    ds.upload(str(data), target_path="tables", show_progress=False)
    folder = source("""
        import os
        from runyard import Run
        path = os.environ["RUNYARD_DATAREFERENCE_tables"]
        Run.get_context().log("header", open(os.path.join(path, "train.csv")).readline().strip())
    """)
    reference = ds.path("tables", data_reference_name="tables").as_mount()
    run = experiment.submit(Estimator(str(folder), entry_script="train.py", inputs=[reference]))
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics() == {"header": "a,b"}
    with pytest.raises(ValidationError, match=r"inputs\[0\] is a str"):
        experiment.submit(Estimator(str(folder), entry_script="train.py", inputs=["/data"]))
