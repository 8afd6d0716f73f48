"""v1's run management through `runyard.azureml`: interactive runs, the run client's
methods, and the in-run Run (children, v1's JSON metrics, named inputs), each against
real runs."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Workspace
from runyard.azureml.core import Experiment, Run, ScriptRunConfig
from runyard.errors import InvalidMetricError, ValidationError

CONFUSION = {"schema_type": "confusion_matrix", "schema_version": "1.0.0",
             "data": {"class_labels": ["0", "1"], "matrix": [[3, 1], [0, 4]]}}
RESIDUALS = {"data": {"bin_edges": [0, 1, 2], "bin_counts": [5, 2]}}  # v1 adds the schema
ACCURACY = {"schema_type": "accuracy_table", "schema_version": "1.0.1",
            "data": {"probability_tables": [[[1, 1, 0, 0]]], "percentile_tables":
                     [[[1, 1, 0, 0]]], "probability_thresholds": [0.0],
                     "percentile_thresholds": [0.0], "class_labels": ["a"]}}
PREDICTIONS = {"schema_type": "predictions", "schema_version": "1.0.0",
               "data": {"bin_averages": [0.25, 0.75], "bin_errors": [0.01, 0.04],
                        "bin_counts": [56, 34], "bin_edges": [0.0, 0.5, 1.0]}}


@pytest.fixture
def v1_experiment(workspace: Workspace) -> Experiment:
    return Experiment(workspace, "v1-runs")


def test_an_interactive_run_uploads_its_outputs_folder_when_it_ends(
        v1_experiment: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    (notebook / "cell.py").write_text("print('a cell')\n")
    monkeypatch.chdir(notebook)
    run = v1_experiment.start_logging(snapshot_directory=".", outputs=None,
                                      display_name="nb")
    assert (notebook / "outputs").is_dir()  # made at once, as in v1
    (notebook / "outputs" / "model.txt").write_text("weights")
    run.log("accuracy", 0.9)
    run.log_confusion_matrix("confusion", CONFUSION)
    run.log_residuals("residuals", RESIDUALS)
    import numpy as np  # sklearn gives numpy arrays: they are made plain where logged

    run.log_confusion_matrix("from numpy", {"data": {"class_labels": ["0", "1"], "matrix":
                                                     np.array([[3, 1], [0, 4]])}})
    assert run.get_status() == "Running"
    run.complete()
    assert run.get_status() == "Completed"
    assert "outputs/model.txt" in run.get_file_names()
    metrics = run.get_metrics()
    assert metrics["confusion"] == CONFUSION
    assert metrics["from numpy"] == CONFUSION
    assert metrics["residuals"] == {"schema_type": "residuals", "schema_version": "1.0.0",
                                    **RESIDUALS}
    with zipfile.ZipFile(run.restore_snapshot(path=str(tmp_path))) as archive:
        assert archive.read("cell.py") == b"print('a cell')\n"

    failed = v1_experiment.start_logging(outputs=False)
    failed.fail(error_details=ValueError("bad data"), error_code="UserError")
    assert failed.get_status() == "Failed"
    assert failed.get_details()["error"]["error"]["message"] == \
        "[UserError] ValueError: bad data"
    canceled = v1_experiment.start_logging(outputs=str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere" / "partial.txt").write_text("half")
    canceled.cancel()
    assert canceled.get_status() == "Canceled"
    assert canceled.get_file_names() == ["outputs/partial.txt"]
    canceled.complete()  # an end state sticks
    assert canceled.get_status() == "Canceled"
    with pytest.raises(InvalidMetricError, match="without a 'data' dict"):
        run.log_predictions("p", {"bin_averages": [1]})
    with pytest.raises(InvalidMetricError, match="schema_type 'residuals' logged as"):
        run.log_accuracy_table("a", {**RESIDUALS, "schema_type": "residuals"})


IN_RUN = """
    import os, sys
    from azureml.core import Run
    run = Run.get_context()
    assert run.id == os.environ["RUNYARD_RUN_ID"] and run.parent is None
    print("experiment", run.experiment.name, "inputs", sorted(run.input_datasets))
    print("workspace", run.experiment.workspace.name)
    folds = run.create_children(count=2)
    for number, fold in enumerate(folds):
        fold.log("loss", 1.0 / (number + 1))
        fold.complete()
    for child in run.create_children(tag_key="learning_rate", tag_values=[0.1, 0.01]):
        child.log_confusion_matrix("confusion", CONFUSION)
        child.fail("diverged") if child.id.endswith("x") else child.complete()
    named = run.child_run(name="fold-named")
    named.log_predictions("predictions", PREDICTIONS)
    named.complete()
    run.log_accuracy_table("accuracy", ACCURACY)
    run.tag("stage", "trained")
    run.add_properties({"team": "vision"})
    os.makedirs("outputs", exist_ok=True)
    open("outputs/a.txt", "w").write("a")
    open("outputs/b.txt", "w").write("b")
    run.upload_files(["extra/a.txt", "extra/b.txt"], ["outputs/a.txt", "outputs/b.txt"])
    print("done", file=sys.stderr)
"""


def test_a_script_makes_children_and_logs_v1s_json_metrics_and_the_client_reads_them(
        v1_experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    workspace = v1_experiment.workspace
    datastore = workspace.get_default_datastore()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a,b\n1,2\n")
    datastore.upload(str(tmp_path / "data"), target_path="tabular")
    code = (f"CONFUSION = {CONFUSION!r}\nPREDICTIONS = {PREDICTIONS!r}\n"
            f"ACCURACY = {ACCURACY!r}\n") + IN_RUN.replace("\n    ", "\n")
    folder = source(code)
    config = ScriptRunConfig(str(folder), "train.py",
                             arguments=["--data", datastore.path("tabular").as_mount()])
    run = v1_experiment.submit(config, tags={"kind": "sweep-like"})
    run.wait_for_completion(raise_on_error=True)
    assert run.get_metrics()["accuracy"] == ACCURACY
    assert {"extra/a.txt", "extra/b.txt"} <= set(run.get_file_names())

    children = list(run.get_children())
    assert len(children) == 5
    assert {c.get_status() for c in children} == {"Completed"}
    folds = list(run.get_children(tags="azureml.batch_child_number"))
    assert sorted(c.get_tags()["azureml.batch_child_number"] for c in folds) == ["0", "1"]
    [slow] = run.get_children(tags={"learning_rate": "0.01"})
    assert slow.get_metrics()["confusion"] == CONFUSION
    [named] = [c for c in children if c.display_name == "fold-named"]
    assert named.name == "fold-named"
    assert named.get_metrics()["predictions"] == PREDICTIONS
    assert list(run.get_children(status="Failed")) == []
    assert list(run.get_children(type="azureml.scriptrun")) == []

    # the run client
    assert run.type == "azureml.scriptrun"
    assert run.number >= 1
    details = run.get_details_with_logs()
    assert "experiment v1-runs inputs ['workspaceblobstore']" in \
        details["logFiles"]["logs/driver_0.txt"]
    assert f"workspace {workspace.name}" in details["logFiles"]["logs/driver_0.txt"]
    written = run.get_all_logs(destination=str(tmp_path / "logs"))
    assert str(tmp_path / "logs" / "logs" / "driver_0.txt") in written
    assert "done" in (tmp_path / "logs" / "logs" / "driver_0.txt").read_text()
    assert run.get_portal_url().endswith(f"/runs/{run.id}")  # its page in `runyard ui`
    assert run.get_environment().user_managed  # no packages: runyard's interpreter
    run.display_name = "first try"
    run.description = "a v1 notebook's run"
    assert (run.display_name, run.name, run.description) == \
        ("first try", "first try", "a v1 notebook's run")
    assert run.get_tags()["stage"] == "trained"
    run.remove_tags(["stage", "not-there"])
    assert "stage" not in run.get_tags()
    assert run.get_properties() == {"team": "vision"}
    targets = [str(tmp_path / "got" / "first"), str(tmp_path / "got" / "second")]
    assert run.download_files(prefix="outputs", output_paths=targets) == targets
    assert Path(targets[1]).read_text() == "b"
    with pytest.raises(ValidationError, match="output_paths must be 2 different paths"):
        run.download_files(prefix="outputs", output_paths=targets[:1])

    assert [r.id for r in Run.list(v1_experiment, type="azureml.scriptrun",
                                   tags={"kind": "sweep-like"},
                                   properties={"team": "vision"}, status="Completed")] == \
        [run.id]
    assert len(list(Run.list(v1_experiment, include_children=True))) == 6
    from runyard.compute import get_compute_target

    local = get_compute_target(workspace, "local")
    assert [r.id for r in Run.list_by_compute(local, status="Completed")] == [run.id]
    assert list(Run.list(v1_experiment, type="hyperdrive")) == []
    assert list(v1_experiment.get_runs(type="hyperdrive")) == []
    assert [r.id for r in v1_experiment.get_runs(type="azureml.scriptrun")] == [run.id]


def test_the_client_makes_children_with_v1s_rules(v1_experiment: Experiment) -> None:
    parent = v1_experiment.start_logging(outputs=False)
    children = parent.create_children(tag_key="fold", tag_values=["a", "b", "c"])
    assert [c.get_tags() for c in children] == [{"fold": "a"}, {"fold": "b"}, {"fold": "c"}]
    children[0].complete()
    assert [c.id for c in parent.get_children(status="Completed")] == [children[0].id]
    assert len(list(parent.get_children(tags={"fold": None}))) == 3
    with pytest.raises(ValidationError, match="1 to 100"):
        parent.create_children(count=101)
    with pytest.raises(ValidationError, match="not both"):
        parent.create_children(count=2, tag_key="fold", tag_values=[1])
    assert Run.get_context(allow_offline=True).id.startswith("OfflineRun_")


def test_run_details_prints_the_status_and_how_to_follow_and_telemetry_is_off(
        v1_experiment: Experiment, capsys: pytest.CaptureFixture[str]) -> None:
    from runyard.azureml._ignored import AzureArgumentIgnoredWarning
    from runyard.azureml.telemetry import (
        get_diagnostics_collection_info,
        set_diagnostics_collection,
    )
    from runyard.azureml.widgets import RunDetails

    with pytest.warns(AzureArgumentIgnoredWarning, match="sends no diagnostics"):
        set_diagnostics_collection(send_diagnostics=True)
    set_diagnostics_collection(send_diagnostics=False)  # asks for what happens: no warning
    assert get_diagnostics_collection_info()["send_diagnostics"] is False
    from runyard.azureml.telemetry import get_telemetry_log_handler

    assert isinstance(get_telemetry_log_handler(), logging.NullHandler)
    run = v1_experiment.start_logging(outputs=False)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.child_run("fold")
    RunDetails(run).show()
    shown = capsys.readouterr().out
    assert f"Run {run.id} (v1-runs): Running" in shown
    assert "child runs: 1 (1 Running)" in shown
    assert "loss: 2 values, last 0.25" in shown
    assert f"runyard logs --follow {run.id}" in shown
    assert f"its page: {run.get_portal_url()}" in shown


def test_a_run_submits_a_child_script_and_uploads_several_files(
        v1_experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    parent = v1_experiment.start_logging(outputs=False)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    parent.upload_files(["notes/a.txt", "notes/b.txt"],
                        [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")])
    assert parent.get_file_names() == ["notes/a.txt", "notes/b.txt"]
    with pytest.raises(ValidationError, match="2 names and 1 paths"):
        parent.upload_files(["x", "y"], [str(tmp_path / "a.txt")])
    with pytest.warns(UserWarning, match="ignores datastore_name='workspaceblobstore'"):
        parent.upload_file("c.txt", str(tmp_path / "a.txt"),
                           datastore_name="workspaceblobstore")
    child = parent.submit_child(ScriptRunConfig(str(source("print('child')")), "train.py"),
                                tags={"trial": "1"})
    child.wait_for_completion(raise_on_error=True)
    assert child.parent == parent
    assert [c.id for c in parent.get_children(type="azureml.scriptrun")] == [child.id]
    assert child.get_detailed_status()["status"] == "Completed"
    assert parent.portal_url == parent.get_portal_url()
    assert v1_experiment.get_portal_url().startswith("file://")
    parent.flush()
    parent.complete()
