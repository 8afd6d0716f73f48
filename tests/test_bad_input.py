"""Bad input gets a clear error naming the problem, and leaves no run behind."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import (
    ArtifactNotFoundError,
    InvalidArtifactPathError,
    InvalidNameError,
    SourceNotFoundError,
    UnknownComputeTargetError,
    ValidationError,
)


def _no_runs(workspace: Workspace) -> bool:
    return workspace.store.list_runs() == []


@pytest.mark.parametrize(("name", "problem"), [
    ("tf mnist", "a space"), ("", "empty"), ("a" * 256, "256 characters"),
    ("tf/mnist", "'/'"), ("naïve", "'ï'"),
])
def test_invalid_experiment_names(workspace: Workspace, name: str, problem: str) -> None:
    with pytest.raises(InvalidNameError, match=problem):
        Experiment(workspace, name)
    assert workspace.store.list_experiments() == []


def test_missing_source_directory(experiment: Experiment, tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="not a folder"):
        experiment.submit(ScriptRunConfig(tmp_path / "nowhere", "train.py"))
    assert _no_runs(experiment.workspace)


def test_missing_script(experiment: Experiment, source: Callable[..., Path]) -> None:
    with pytest.raises(SourceNotFoundError, match=r"'trian\.py' not found"):
        experiment.submit(ScriptRunConfig(source("pass"), "trian.py"))
    assert _no_runs(experiment.workspace)


def test_script_outside_the_source_directory(experiment: Experiment,
                                             source: Callable[..., Path]) -> None:
    folder = source("pass")
    (folder.parent / "outside.py").write_text("pass")
    with pytest.raises(ValidationError, match="outside source_directory"):
        experiment.submit(ScriptRunConfig(folder, "../outside.py"))
    assert _no_runs(experiment.workspace)


def test_unknown_compute_target_lists_the_known_ones(experiment: Experiment,
                                                     source: Callable[..., Path]) -> None:
    with pytest.raises(UnknownComputeTargetError, match=r"gpucluster.*has: local"):
        experiment.submit(ScriptRunConfig(source("pass"), "train.py",
                                          compute_target="gpucluster"))
    assert _no_runs(experiment.workspace)


def test_arguments_must_be_strings_or_numbers(experiment: Experiment,
                                              source: Callable[..., Path]) -> None:
    with pytest.raises(ValidationError, match="argument 1"):
        experiment.submit(ScriptRunConfig(source("pass"), "train.py",
                                          arguments=["--x", object()]))
    assert _no_runs(experiment.workspace)


def test_invalid_tags_and_configs(experiment: Experiment, source: Callable[..., Path]) -> None:
    with pytest.raises(ValidationError, match="tags must be a dict"):
        experiment.submit(ScriptRunConfig(source("pass"), "train.py"), tags=["x"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="cannot submit a str"):
        experiment.submit("train.py")
    with pytest.raises(ValidationError, match="max_run_duration_seconds"):
        experiment.submit(ScriptRunConfig(source("pass"), "train.py",
                                          max_run_duration_seconds=-1))
    assert _no_runs(experiment.workspace)


def test_a_bad_metric_in_a_script_fails_the_script_with_the_reason(
        submit: Callable[..., Run]) -> None:
    run = submit("from runyard import Run\nRun.get_context().log('weights', {'a': 1})\n")
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert "is not a number or a string" in details["error"]["error"]["message"]


@pytest.mark.parametrize(("name", "problem"), [
    ("/etc/passwd", "absolute"), ("../escape.txt", "'..'"), ("a/../../b", "'..'"),
    ("bad\x00name", "NUL"), ("", "empty"), ("C:/windows", "absolute"),
])
def test_unsafe_artifact_names_are_refused_everywhere(experiment: Experiment, tmp_path: Path,
                                                      name: str, problem: str) -> None:
    run = experiment.start_logging()
    with pytest.raises(InvalidArtifactPathError, match=problem):
        run.upload_file(name, io.BytesIO(b"x"))
    with pytest.raises(InvalidArtifactPathError, match=problem):
        run.download_file(name, tmp_path / "x")
    if name:  # '' as a prefix means "everything"
        with pytest.raises(InvalidArtifactPathError, match=problem):
            run.download_files(prefix=name, output_directory=tmp_path)
    with pytest.raises(InvalidArtifactPathError, match=problem):
        experiment.workspace.artifacts.put_stream(io.BytesIO(b"x"), name)
    assert run.get_file_names() == []


def test_unsafe_upload_names_inside_a_script_fail_it(submit: Callable[..., Run]) -> None:
    run = submit("from runyard import Run\nRun.get_context().upload_file('../x', __file__)\n")
    details = run.wait_for_completion(raise_on_error=False)
    assert "contains '..'" in details["error"]["error"]["message"]


def test_downloading_a_file_the_run_does_not_have_lists_its_files(
        experiment: Experiment, tmp_path: Path) -> None:
    run = experiment.start_logging()
    run.upload_file("outputs/model.pkl", io.BytesIO(b"m"))
    with pytest.raises(ArtifactNotFoundError, match=r"outputs/model\.pkl"):
        run.download_file("outputs/model.h5", tmp_path / "m")
    assert not (tmp_path / "m").exists()
