"""The v1 names issue 12's surface test found missing and runyard now implements, each
with v1's behaviour on a real workspace (real SQLite store, real runs).

Experiment tags and archival, Model.delete, Datastore.set_as_default / unregister,
Workspace.datasets, Dataset.get / list, Run.take_snapshot / clean / get_secret(s) (from
environment variables: runyard has no Key Vault), InputDatasets, v1's constants.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard.azureml.core import Dataset, Datastore, Experiment, Model, Run, Workspace
from runyard.errors import ModelNotFoundError, NotSupportedError, ValidationError


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return Workspace.from_config(workspace.path)


# -- experiments: tags and archival, stored for the experiment -----------------------------

def test_experiment_tags_are_kept_in_the_run_history(ws: Workspace) -> None:
    exp = Experiment(ws, "tagged")
    exp.tag("DeploymentCandidate")
    exp.tag("modifiedBy", "Master CI")
    exp.set_tags({"team": "vision", "modifiedBy": "release pipeline"})
    exp.remove_tags(["team"])
    again = Experiment(Workspace.from_config(ws.path), "tagged")  # a fresh client
    assert again.tags == {"DeploymentCandidate": None, "modifiedBy": "release pipeline"}
    assert exp.tags == again.tags


def test_experiment_list_filters_by_tags(ws: Workspace) -> None:
    Experiment(ws, "a").set_tags({"stage": "prod"})
    Experiment(ws, "b").set_tags({"stage": "dev"})
    Experiment(ws, "c")
    assert [e.name for e in Experiment.list(ws, tags="stage")] == ["a", "b"]
    assert [e.name for e in Experiment.list(ws, tags={"stage": "prod"})] == ["a"]


def test_an_archived_experiment_leaves_the_list_until_reactivated(ws: Workspace) -> None:
    from runyard.azureml.core.experiment import ViewType

    exp = Experiment(ws, "old")
    Experiment(ws, "current")
    assert exp.archived_time is None
    exp.archive()
    assert exp.archived_time is not None
    assert [e.name for e in Experiment.list(ws)] == ["current"]
    assert [e.name for e in Experiment.list(ws, view_type=ViewType.ArchivedOnly)] == ["old"]
    assert [e.name for e in Experiment.list(ws, view_type=ViewType.All)] == ["current", "old"]
    exp.reactivate()
    assert exp.archived_time is None
    assert [e.name for e in Experiment.list(ws)] == ["current", "old"]


def test_reactivate_refuses_a_new_name_as_v1_does(ws: Workspace) -> None:
    exp = Experiment(ws, "old")
    exp.archive()
    with pytest.raises(ValidationError, match="cannot rename an experiment"):
        exp.reactivate(new_name="renamed")
    assert exp.archived_time is not None


def test_an_unknown_view_type_is_refused_with_the_valid_ones(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="ActiveOnly, All, ArchivedOnly"):
        Experiment.list(ws, view_type="Everything")


def test_delete_removes_an_experiment_without_runs(ws: Workspace) -> None:
    empty = Experiment(ws, "empty")
    Experiment.delete(ws, empty.id)
    assert [e.name for e in Experiment.list(ws, view_type="All")] == []
    with pytest.raises(ValidationError, match="no experiment 'empty'"):
        Experiment.delete(ws, "empty")


def test_delete_keeps_an_experiment_with_runs_and_says_archive(ws: Workspace) -> None:
    exp = Experiment(ws, "used")
    exp.start_logging(outputs=False).complete()
    with pytest.raises(ValidationError, match=r"has 1 run\(s\).*archive\(\)"):
        Experiment.delete(ws, exp.id)
    assert [e.name for e in Experiment.list(ws)] == ["used"]


def test_experiment_identity_and_v1_constants() -> None:
    assert Experiment.EXPERIMENT_NAME_PATH.format("mnist") == "/experiments/mnist"
    assert Experiment.EXPERIMENT_ID_PATH.format("1") == "/experiments/id/1"
    assert Run.RUN_PATH.format("r1") == "/runs/r1"
    assert Run.DELIM == Experiment.DELIM == "#"


def test_run_and_experiment_identity(ws: Workspace) -> None:
    exp = Experiment(ws, "ident")
    run = exp.start_logging(outputs=False)
    run.complete()
    assert exp.identity == "Experiment#ident"
    assert run.identity == f"Run#{run.id}"


# -- models -------------------------------------------------------------------------------

def test_model_delete_removes_that_version_only(ws: Workspace, tmp_path: Path) -> None:
    weights = tmp_path / "model.pkl"
    weights.write_bytes(b"weights")
    first = Model.register(ws, model_path=str(weights), model_name="mnist")
    second = Model.register(ws, model_path=str(weights), model_name="mnist")
    first.delete()
    assert [m.version for m in Model.list(ws, name="mnist")] == [second.version]
    with pytest.raises(ModelNotFoundError):
        Model(ws, "mnist", version=first.version)
    assert Model(ws, "mnist").version == second.version
    with pytest.raises(ModelNotFoundError, match="not registered"):
        first.delete()


# -- datastores and datasets --------------------------------------------------------------

def test_set_as_default_makes_another_datastore_the_default(ws: Workspace,
                                                            tmp_path: Path) -> None:
    scratch = Datastore.register(ws, "scratch", str(tmp_path / "scratch"))
    scratch.set_as_default()
    assert ws.get_default_datastore().name == "scratch"
    assert Datastore(Workspace.from_config(ws.path)).name == "scratch"
    assert Datastore(ws, "scratch").is_default
    assert not Datastore(ws, "workspaceblobstore").is_default
    ws.set_default_datastore("workspaceblobstore")
    assert ws.get_default_datastore().name == "workspaceblobstore"
    assert not Datastore(ws, "scratch").is_default


def test_unregister_forgets_the_datastore_and_keeps_its_files(ws: Workspace,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "scratch"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "x.csv").write_text("a\n1\n")
    Datastore.register(ws, "scratch", str(folder)).unregister()
    assert "scratch" not in ws.datastores
    assert (folder / "data" / "x.csv").read_text() == "a\n1\n"


def test_the_default_datastore_is_not_unregistered(ws: Workspace, tmp_path: Path) -> None:
    scratch = Datastore.register(ws, "scratch", str(tmp_path / "scratch"))
    scratch.set_as_default()
    with pytest.raises(ValidationError, match="is the default; make another the default"):
        scratch.unregister()
    with pytest.raises(ValidationError, match="workspace's own folder"):
        Datastore(ws, "workspaceblobstore").unregister()
    assert set(ws.datastores) == {"scratch", "workspaceblobstore"}


def _csv_dataset(ws: Workspace, text: str) -> object:
    datastore = ws.get_default_datastore()
    assert datastore.local_path is not None
    (datastore.local_path / "iris.csv").write_text(text)
    return Dataset.Tabular.from_delimited_files(path=(datastore, "iris.csv"))


def test_workspace_datasets_are_the_latest_registered_versions(ws: Workspace) -> None:
    first = _csv_dataset(ws, "a\n1\n").register(ws, "iris")  # type: ignore[attr-defined]
    files = Dataset.File.from_files(path=(ws.get_default_datastore(), "iris.csv"))
    files.register(ws, "iris", create_new_version=True)
    datasets = Workspace.from_config(ws.path).datasets
    assert sorted(datasets) == ["iris"]
    assert datasets["iris"].version == first.version + 1


def test_dataset_get_list_and_v1_constructor_find_registered_datasets(ws: Workspace) -> None:
    registered = _csv_dataset(ws, "a\n1\n").register(ws, "iris")  # type: ignore[attr-defined]
    assert Dataset.get(ws, name="iris").version == registered.version
    assert Dataset.get(ws, id=f"iris:{registered.version}").name == "iris"
    assert [d.name for d in Dataset.list(ws)] == ["iris"]
    assert Dataset(workspace=ws, name="iris").version == registered.version
    with pytest.raises(NotSupportedError, match=r"Dataset\.File\.from_files"):
        Dataset(definition={"paths": []})
    with pytest.raises(NotSupportedError, match=r"deprecated pre-1\.0 Dataset API"):
        Dataset.from_delimited_files("data/*.csv")


def test_tabular_download_refuses_a_stream_column_and_copies_the_files(
        ws: Workspace, tmp_path: Path) -> None:
    table = _csv_dataset(ws, "a\n1\n")
    with pytest.raises(NotSupportedError, match="no stream columns"):
        table.download("image")  # type: ignore[attr-defined]
    copied = table.download(target_path=tmp_path / "copy")  # type: ignore[attr-defined]
    assert [Path(p).read_text() for p in copied] == ["a\n1\n"]


# -- runs ---------------------------------------------------------------------------------

def test_take_snapshot_becomes_the_runs_snapshot(ws: Workspace, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('hi')\n")
    run = Experiment(ws, "notebook").start_logging(outputs=False)
    assert run.get_snapshot_id() is None
    snapshot_id = run.take_snapshot(str(code))
    assert run.get_snapshot_id() == snapshot_id
    with zipfile.ZipFile(run.restore_snapshot(path=str(tmp_path / "out.zip"))) as archive:
        assert archive.read("train.py") == b"print('hi')\n"
    one_file = run.take_snapshot(str(code / "train.py"))
    assert Run.get(ws, run.id).get_snapshot_id() == one_file
    run.complete()


def test_take_snapshot_of_a_missing_path_is_refused(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "notebook").start_logging(outputs=False)
    with pytest.raises(ValidationError, match="neither a file nor a folder"):
        run.take_snapshot(str(tmp_path / "nowhere"))
    assert run.get_snapshot_id() is None
    run.complete()


def test_get_secret_reads_the_environment(ws: Workspace,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    run = Experiment(ws, "secrets").start_logging(outputs=False)
    monkeypatch.setenv("STORAGE_KEY", "s3cret")
    monkeypatch.setenv("token", "t0ken")
    assert run.get_secret("storage-key") == "s3cret"
    assert run.get_secret("token") == "t0ken"
    assert run.get_secrets(["storage-key", "missing-one"]) == \
        {"storage-key": "s3cret", "missing-one": None}
    with pytest.raises(ValidationError, match=r"missing-one.*missing-one or MISSING_ONE"):
        run.get_secret("missing-one")
    run.complete()


@pytest.mark.slow
def test_a_submitted_script_gets_its_secrets_from_the_run_environment(
        ws: Workspace, source: Callable[..., Path]) -> None:
    from runyard.azureml.core import ScriptRunConfig

    folder = source("""
        from azureml.core import Run
        run = Run.get_context()
        run.log("password", run.get_secret("db-password"))
        run.log("found", str(run.get_secrets(["db-password", "nope"])))
    """)
    config = ScriptRunConfig(source_directory=str(folder), script="train.py")
    config.run_config.environment_variables = {"DB_PASSWORD": "hunter2"}
    run = Experiment(ws, "secrets").submit(config)
    assert run.wait_for_completion(timeout_seconds=120)["status"] == "Completed"
    metrics = run.get_metrics()
    assert metrics["password"] == "hunter2"
    assert metrics["found"] == "{'db-password': 'hunter2', 'nope': None}"


@pytest.mark.slow
def test_clean_after_a_submitted_run_finds_its_scratch_folder_gone(
        submit: Callable[..., Run]) -> None:
    run = submit("print('done')\n")
    assert run.wait_for_completion(timeout_seconds=120)["status"] == "Completed"
    assert run.clean() == []  # the supervisor removed it when the run ended
    logs = run.get_details_with_logs()["logFiles"]  # what was uploaded stays
    assert any("done" in text for text in logs.values())


def test_clean_removes_what_an_ended_run_left_in_its_scratch_folder(ws: Workspace) -> None:
    run = Experiment(ws, "left").start_logging(outputs=False)
    run.complete()
    folder = ws.run_dir(run.id)  # as an interrupted clean-up leaves it
    (folder / "wd" / "data").mkdir(parents=True)
    (folder / "wd" / "data" / "big.bin").write_bytes(b"x")
    (folder / "channel").write_bytes(b"")
    assert run.clean() == sorted([str(folder / "channel"), str(folder / "wd/data/big.bin")])
    assert not folder.exists()
    assert run.clean() == []


def test_clean_refuses_a_run_still_active(ws: Workspace) -> None:
    run = Experiment(ws, "busy").start_logging(outputs=False)
    with pytest.raises(ValidationError, match="is Running; clean"):
        run.clean()
    run.complete()


def test_input_datasets_are_the_runs_named_inputs(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    from runyard.azureml.core.run import InputDatasets

    monkeypatch.setenv("RUNYARD_DATAREFERENCE_train", str(tmp_path / "train"))
    assert InputDatasets() == {"train": str(tmp_path / "train")}


def test_image_build_details_is_what_build_returns_and_is_not_constructed() -> None:
    from runyard.azureml.core.environment import ImageBuildDetails
    from runyard.environment._build import EnvironmentBuild

    assert isinstance(EnvironmentBuild("Succeeded", "", None, None), ImageBuildDetails)
    with pytest.raises(NotSupportedError, match=r"env.build\(ws\)"):
        ImageBuildDetails(environment_client=None, location="local")
