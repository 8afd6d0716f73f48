"""The seed article's workflow end to end on the real MNIST data (a few hundred steps)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runyard import ComputeTarget, Experiment, Model, Workspace
from runyard.train import TensorFlow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tf-mnist"

pytestmark = [pytest.mark.slow, pytest.mark.tf]


def test_the_article_workflow_trains_registers_and_downloads_the_model(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an environment cache of the test's own (uv's download cache is shared and warm)
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    exp = Experiment(workspace=workspace, name="tf-mnist")
    ds = workspace.get_default_datastore()
    ds.upload(src_dir=str(EXAMPLE / "data" / "mnist"), target_path="mnist",
              overwrite=True, show_progress=False)
    est = TensorFlow(
        source_directory=str(EXAMPLE), entry_script="tf_mnist.py",
        compute_target=ComputeTarget(workspace, "local"),
        script_params={"--data-folder": ds.path("mnist").as_mount(), "--batch-size": 50,
                       "--first-layer-neurons": 300, "--second-layer-neurons": 100,
                       "--learning-rate": 0.05, "--epochs": 2, "--steps-per-epoch": 150})
    run = exp.submit(est)
    details = run.wait_for_completion(timeout_seconds=900)
    assert details["status"] == "Completed"
    metrics = run.get_metrics()
    assert len(metrics["training_acc"]) == 2
    assert len(metrics["validation_acc"]) == 2
    assert metrics["final_acc"] > 0.8
    assert "outputs/model/mnist.keras" in run.get_file_names()

    model = run.register_model(model_name="tf-dnn-mnist", model_path="outputs/model")
    assert model.version == 1
    assert model.run_id == run.id
    downloaded = Path(model.download(target_dir=str(tmp_path / "model")))
    with run.workspace.artifacts.open(f"runs/{run.id}/outputs/model/mnist.keras") as handle:
        stored = handle.read()
    copy = next(downloaded.rglob("mnist.keras")).read_bytes()
    assert hashlib.sha256(copy).hexdigest() == hashlib.sha256(stored).hexdigest()
    assert Model(workspace, "tf-dnn-mnist").version == 1


def test_the_example_says_clearly_when_the_data_folder_is_missing(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("mnist_utils", EXAMPLE / "utils.py")
    assert spec is not None
    assert spec.loader is not None
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    with pytest.raises(SystemExit, match=r"missing train-images-idx3-ubyte\.gz"):
        utils.check_folder(tmp_path / "nowhere")
    assert utils.check_folder(EXAMPLE / "data" / "mnist") == EXAMPLE / "data" / "mnist"
