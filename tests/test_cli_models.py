"""`runyard models list|show|download` against a real workspace and registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard import Experiment, Model, Run, Workspace

from .test_cli import assert_one_line_error, invoke


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"w" * 3000)
    (folder / "config.json").write_text("{}")
    return folder


@pytest.fixture
def trained_run(experiment: Experiment, weights: Path) -> Run:
    run = experiment.start_logging()
    run.upload_folder("outputs/model", weights)
    run.complete()
    return run


def test_list_without_models_says_so(workspace: Workspace) -> None:
    result = invoke(workspace, "models", "list")
    assert result.stdout == ""
    assert "no models" in result.stderr


def test_list_shows_name_version_run_experiment_framework(
        workspace: Workspace, weights: Path, trained_run: Run) -> None:
    Model.register(workspace, weights, "local-model", model_framework="ScikitLearn",
                   model_framework_version="1.5")
    trained_run.register_model("mnist", "outputs/model", model_framework="TensorFlow")
    trained_run.register_model("mnist", "outputs/model")
    lines = invoke(workspace, "models", "list").stdout.splitlines()
    assert lines[0].split() == ["name", "version", "run", "experiment", "framework", "created"]
    assert lines[1].split()[:5] == ["local-model", "1", "-", "-", "ScikitLearn"]
    assert lines[2].split()[:4] == ["mnist", "2", trained_run.id, "tests"]
    assert lines[3].split()[:5] == ["mnist", "1", trained_run.id, "tests", "TensorFlow"]
    only = invoke(workspace, "models", "list", "--name", "mnist").stdout
    assert "local-model" not in only
    assert only.count("mnist") == 2
    latest = invoke(workspace, "models", "list", "--latest").stdout.splitlines()
    assert [line.split()[:2] for line in latest[1:]] == [["local-model", "1"], ["mnist", "2"]]


def test_list_filters_by_tag(workspace: Workspace, weights: Path) -> None:
    Model.register(workspace, weights, "a", tags={"stage": "prod"})
    Model.register(workspace, weights, "b", tags={"stage": "dev"})
    def names(*args: str) -> list[str]:
        out = invoke(workspace, "models", "list", *args).stdout
        return [line.split()[0] for line in out.splitlines()[1:]]

    assert names("--tag", "stage=prod") == ["a"]
    assert names("--tag", "stage") == ["a", "b"]
    assert names("--tag", "stage=prod", "--tag", "stage=dev") == []


def test_show_gives_details_tags_properties_and_files(workspace: Workspace,
                                                     trained_run: Run) -> None:
    trained_run.register_model("mnist", "outputs/model", tags={"stage": "prod"},
                               properties={"accuracy": "0.97"}, description="two layers")
    trained_run.register_model("mnist", "outputs/model/config.json")
    out = invoke(workspace, "models", "show", "mnist:1").stdout
    assert "mnist:1" in out
    assert "two layers" in out
    assert trained_run.id in out
    assert "tests" in out
    assert "stage=prod" in out
    assert "accuracy=0.97" in out
    assert "model/weights.bin  2.9 KiB" in out
    assert "model/config.json  2 B" in out
    assert "2.9 KiB in 2 file(s)" in out
    latest = invoke(workspace, "models", "show", "mnist").stdout
    assert "mnist:2" in latest
    assert "config.json" in latest
    assert "weights.bin" not in latest


def test_download_writes_the_model_and_needs_exist_ok_the_second_time(
        workspace: Workspace, weights: Path, tmp_path: Path) -> None:
    Model.register(workspace, weights, "mnist")
    out = tmp_path / "deploy"
    result = invoke(workspace, "models", "download", "mnist:1", "--output", str(out))
    assert result.stdout.strip() == str(out / "model")
    assert "2 file(s) verified" in result.stderr
    assert (out / "model" / "weights.bin").read_bytes() == b"w" * 3000
    again = invoke(workspace, "models", "download", "mnist", "-o", str(out), code=2)
    assert_one_line_error(again, str(out / "model"), "already exists; pass --exist-ok to "
                          "replace its files, or choose another --output")
    assert "=True" not in again.stderr
    invoke(workspace, "models", "download", "mnist", "-o", str(out), "--exist-ok")


def test_download_of_a_damaged_model_fails_in_one_line(workspace: Workspace, weights: Path,
                                                       tmp_path: Path) -> None:
    model = Model.register(workspace, weights, "mnist")
    workspace.artifacts.path_of(f"{model.url}/config.json").write_text("{ }")  # type: ignore[attr-defined]
    result = invoke(workspace, "models", "download", "mnist", "-o", str(tmp_path / "d"),
                    code=2)
    assert_one_line_error(result, "model mnist:1", "does not match what was registered")
    assert not (tmp_path / "d" / "model").exists()


@pytest.mark.parametrize("command", ["show", "download"])
def test_unknown_models_and_versions_are_one_line_errors(
        workspace: Workspace, weights: Path, command: str) -> None:
    Model.register(workspace, weights, "mnist")
    assert_one_line_error(invoke(workspace, "models", command, "cifar", code=2),
                          "no model named 'cifar'", "registered models: mnist")
    assert_one_line_error(invoke(workspace, "models", command, "mnist:4", code=2),
                          "has no version 4", "its versions: 1")
    assert_one_line_error(invoke(workspace, "models", command, "mnist:x", code=2),
                          "must be a number")
    assert_one_line_error(invoke(workspace, "models", command, "bad name", code=2),
                          "model name 'bad name' contains a space")
