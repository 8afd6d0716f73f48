"""The model registry: versions, immutable verified files, runs as sources, concurrency."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Model, Run, Workspace
from runyard.errors import (
    ArtifactNotFoundError,
    ChecksumMismatchError,
    FileExistsNoOverwriteError,
    InvalidNameError,
    ModelNotFoundError,
    PropertyImmutableError,
    SourceNotFoundError,
    ValidationError,
)

from .conftest import wait_for

WEIGHTS = bytes(range(256)) * 1000


@pytest.fixture(autouse=True)
def model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's model cache in its own folder, never the user's."""
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("RUNYARD_MODEL_CACHE", str(cache))
    return cache


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A model folder: weights, a config and a nested file."""
    folder = tmp_path / "trained" / "model"
    (folder / "assets").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(WEIGHTS)
    (folder / "config.json").write_text('{"layers": [300, 100]}')
    (folder / "assets" / "vocab.txt").write_text("a\nb\n")
    return folder


def read_tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def stored_keys(workspace: Workspace, prefix: str = "models") -> list[str]:
    return sorted(workspace.artifacts.list(prefix))


def interactive_run_with(experiment: Experiment, files: dict[str, bytes],
                         tmp_path: Path) -> Run:
    """A run this process logs to, with `files` uploaded, completed."""
    run = experiment.start_logging()
    for name, data in files.items():
        local = tmp_path / "upload.bin"
        local.write_bytes(data)
        run.upload_file(name, str(local))
    run.complete()
    return run


# -- registering from a local path ----------------------------------------------------------
def test_a_file_then_a_folder_become_versions_1_2_3_and_the_latest_is_3(
        workspace: Workspace, model_dir: Path) -> None:
    first = Model.register(workspace, model_dir / "weights.bin", "mnist")
    second = Model.register(workspace, model_dir, "mnist", description="the folder")
    third = Model.register(workspace, model_dir, "mnist")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert Model(workspace, "mnist").version == 3
    assert Model(workspace, "mnist", version=2).description == "the folder"
    assert Model(workspace, id="mnist:1").files == first.files
    assert Model(workspace, id="mnist").id == "mnist:3"


def test_registration_records_each_file_with_size_and_sha256_under_the_model_prefix(
        workspace: Workspace, model_dir: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist", tags={"area": "digits"},
                           properties={"accuracy": 0.97}, model_framework="TensorFlow",
                           model_framework_version="2.16")
    assert model.id == "mnist:1"
    assert model.tags == {"area": "digits"}
    assert model.properties == {"accuracy": "0.97"}
    assert (model.model_framework, model.model_framework_version) == ("TensorFlow", "2.16")
    assert model.run_id is None
    assert model.experiment_name is None
    assert model.source_path == str(model_dir)
    assert [f["path"] for f in model.files] == [
        "model/assets/vocab.txt", "model/config.json", "model/weights.bin"]
    weights = next(f for f in model.files if f["path"] == "model/weights.bin")
    assert weights == {"path": "model/weights.bin", "size": len(WEIGHTS),
                       "sha256": hashlib.sha256(WEIGHTS).hexdigest()}
    assert model.url.startswith("models/mnist/")
    assert model.url.endswith("/model")
    assert stored_keys(workspace) == sorted(f"{model.url.rsplit('/', 1)[0]}/{f['path']}"
                                            for f in model.files)


def test_a_registered_version_keeps_its_bytes_when_the_source_changes(
        workspace: Workspace, model_dir: Path, tmp_path: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist")
    (model_dir / "weights.bin").write_bytes(b"retrained")
    (model_dir / "new.txt").write_text("new")
    path = Model(workspace, "mnist").download(tmp_path / "out")
    assert read_tree(Path(path))["weights.bin"] == WEIGHTS
    assert "new.txt" not in read_tree(Path(path))
    assert Model.register(workspace, model_dir, "mnist").version == model.version + 1


def test_child_paths_register_only_those_parts_of_a_folder(
        workspace: Workspace, model_dir: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist",
                           child_paths=["weights.bin", "assets"])
    assert [f["path"] for f in model.files] == ["model/assets/vocab.txt", "model/weights.bin"]


@pytest.mark.parametrize("name", ["", " ", "tf mnist", "-model", ".model", "_model",
                                  "a/b", "a:1", "modèle", "x" * 256])
def test_an_invalid_name_is_refused_and_nothing_is_stored(
        workspace: Workspace, model_dir: Path, name: str) -> None:
    with pytest.raises(InvalidNameError, match="model name") as caught:
        Model.register(workspace, model_dir, name)
    assert "letters, digits" in str(caught.value)
    assert workspace.store.list_models() == []
    assert stored_keys(workspace) == []


@pytest.mark.parametrize("name", ["a", "7", "tf-dnn-mnist", "Model_v1.2", "x" * 255])
def test_valid_names(workspace: Workspace, model_dir: Path, name: str) -> None:
    assert Model.register(workspace, model_dir / "config.json", name).name == name


def test_the_error_for_a_bad_name_says_what_is_wrong(workspace: Workspace,
                                                     model_dir: Path) -> None:
    with pytest.raises(InvalidNameError, match="'tf mnist' contains a space"):
        Model.register(workspace, model_dir, "tf mnist")
    with pytest.raises(InvalidNameError, match="starts with '-'"):
        Model.register(workspace, model_dir, "-m")


def test_a_missing_model_path_is_a_clear_error(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="'nothing/here' does not exist"):
        Model.register(workspace, "nothing/here", "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="without files"):
        Model.register(workspace, tmp_path / "empty", "m")
    assert workspace.store.list_models() == []


def test_tags_of_the_wrong_shape_are_refused_before_copying(workspace: Workspace,
                                                            model_dir: Path) -> None:
    with pytest.raises(ValidationError, match="tags must be a dict"):
        Model.register(workspace, model_dir, "m", tags=["a"])  # type: ignore[arg-type]
    assert stored_keys(workspace) == []


def test_azure_only_arguments_are_accepted_with_a_warning(workspace: Workspace,
                                                          model_dir: Path) -> None:
    with pytest.warns(UserWarning, match="ignores datasets") as caught:
        Model.register(workspace, model_dir, "m", datasets=[("training", object())])
    assert caught[0].filename == __file__


def test_azure_only_arguments_of_run_register_model_warn_at_the_call(
        experiment: Experiment, tmp_path: Path) -> None:
    run = interactive_run_with(experiment, {"outputs/m.bin": b"m"}, tmp_path)
    with pytest.warns(UserWarning, match="ignores sample_input_dataset") as caught:
        run.register_model("m", "outputs/m.bin", sample_input_dataset=object())
    assert caught[0].filename == __file__


# -- nothing half-registered ----------------------------------------------------------------
def test_a_store_that_refuses_the_row_leaves_no_files(
        workspace: Workspace, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError("database is gone")

    monkeypatch.setattr(workspace.store, "register_model", refuse)
    with pytest.raises(OSError, match="database is gone"):
        Model.register(workspace, model_dir, "mnist")
    assert stored_keys(workspace) == []


def test_a_copy_that_fails_halfway_leaves_no_files_and_no_version(
        workspace: Workspace, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    artifacts = workspace.artifacts
    real = artifacts.put_stream
    calls = []

    def fail_on_the_second(source, key):  # type: ignore[no-untyped-def]
        calls.append(key)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(source, key)

    monkeypatch.setattr(artifacts, "put_stream", fail_on_the_second)
    with pytest.raises(OSError, match="disk full"):
        Model.register(workspace, model_dir, "mnist")
    assert stored_keys(workspace) == []
    assert workspace.store.list_models() == []


# -- finding -----------------------------------------------------------------------------------
def test_an_unknown_name_lists_the_registered_models(workspace: Workspace,
                                                     model_dir: Path) -> None:
    Model.register(workspace, model_dir, "mnist")
    Model.register(workspace, model_dir, "cifar")
    with pytest.raises(ModelNotFoundError, match=r"no model named 'imagenet'.*cifar, mnist"):
        Model(workspace, "imagenet")
    with pytest.raises(KeyError):
        Model(workspace, "imagenet")


def test_an_unknown_version_lists_the_versions(workspace: Workspace, model_dir: Path) -> None:
    Model.register(workspace, model_dir, "mnist")
    Model.register(workspace, model_dir, "mnist")
    with pytest.raises(ModelNotFoundError, match="has no version 7; its versions: 1, 2"):
        Model(workspace, "mnist", version=7)
    with pytest.raises(ModelNotFoundError, match="its versions: 1, 2"):
        Model(workspace, id="mnist:9")
    with pytest.raises(ValidationError, match="whole number"):
        Model(workspace, id="mnist:latest")
    with pytest.raises(ValidationError, match="needs a name or an id"):
        Model(workspace)


def test_the_constructor_picks_the_latest_version_that_matches_tags(
        workspace: Workspace, model_dir: Path) -> None:
    Model.register(workspace, model_dir, "mnist", tags={"stage": "prod"})
    Model.register(workspace, model_dir, "mnist", tags={"stage": "prod"})
    Model.register(workspace, model_dir, "mnist", tags={"stage": "dev"})
    assert Model(workspace, "mnist", tags=[["stage", "prod"]]).version == 2
    assert Model(workspace, "mnist", tags={"stage": "dev"}).version == 3
    assert Model(workspace, tags=["stage"]).id == "mnist:3"  # no name: the newest that matches
    with pytest.raises(ModelNotFoundError, match="no version with tags"):
        Model(workspace, "mnist", tags={"stage": "retired"})


def test_list_filters_by_name_tags_properties_run_and_latest(
        workspace: Workspace, model_dir: Path, experiment: Experiment, tmp_path: Path) -> None:
    Model.register(workspace, model_dir, "mnist", tags={"stage": "dev"},
                   properties={"acc": "0.9"})
    Model.register(workspace, model_dir, "mnist", tags={"stage": "prod", "team": "vision"})
    Model.register(workspace, model_dir, "cifar", tags={"stage": "prod"})
    run = interactive_run_with(experiment, {"outputs/m.bin": b"m"}, tmp_path)
    run.register_model("from-run", "outputs/m.bin")

    def ids(**filters: object) -> list[str]:
        return [m.id for m in Model.list(workspace, **filters)]  # type: ignore[arg-type]

    assert ids() == ["cifar:1", "from-run:1", "mnist:2", "mnist:1"]
    assert ids(name="mnist") == ["mnist:2", "mnist:1"]
    assert ids(name="nothing") == []
    assert ids(tags=["team"]) == ["mnist:2"]
    assert ids(tags=[["stage", "prod"]]) == ["cifar:1", "mnist:2"]
    assert ids(tags={"stage": "dev"}) == ["mnist:1"]
    assert ids(tags="stage") == ["cifar:1", "mnist:2", "mnist:1"]
    assert ids(properties=[["acc", "0.9"]]) == ["mnist:1"]
    assert ids(run_id=run.id) == ["from-run:1"]
    assert ids(latest=True) == ["cifar:1", "from-run:1", "mnist:2"]
    assert ids(latest=True, tags={"stage": "dev"}) == ["mnist:1"]
    with pytest.raises(ValidationError, match="neither a key nor"):
        ids(tags=[["a", "b", "c"]])


# -- what may change --------------------------------------------------------------------------
def test_tags_can_be_added_changed_and_removed(workspace: Workspace, model_dir: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist", tags={"stage": "dev"})
    model.add_tags({"stage": "prod", "owner": "ana"})
    model.remove_tags(["owner", "not-there"])
    assert model.tags == {"stage": "prod"}
    assert Model(workspace, "mnist").tags == {"stage": "prod"}


def test_properties_are_add_only(workspace: Workspace, model_dir: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist", properties={"seed": "42"})
    model.add_properties({"seed": "42", "accuracy": "0.97"})
    with pytest.raises(PropertyImmutableError, match="'seed' of model mnist:1 is already '42'"):
        model.add_properties({"seed": "7", "other": "x"})
    assert Model(workspace, "mnist").properties == {"accuracy": "0.97", "seed": "42"}


def test_serialize_and_deserialize_round_trip(workspace: Workspace, model_dir: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist", tags={"a": "1"})
    data = model.serialize()
    assert data["id"] == "mnist:1"
    assert data["createdTime"].endswith("Z")
    copy = Model.deserialize(workspace, data)
    assert copy == model
    assert (copy.tags, copy.files, copy.created_time) == (model.tags, model.files,
                                                           model.created_time)
    assert Model.deserialize(workspace, {"id": "mnist:1"}) == model


def test_registry_errors_pickle_with_their_context() -> None:
    import pickle

    missing = pickle.loads(pickle.dumps(ModelNotFoundError("no model named 'x'", name="x")))
    assert isinstance(missing, KeyError)
    assert (str(missing), missing.name) == ("no model named 'x'", "x")  # type: ignore[attr-defined]
    damaged = pickle.loads(pickle.dumps(ChecksumMismatchError("bad", key="k")))
    assert isinstance(damaged, OSError)
    assert (str(damaged), damaged.key) == ("bad", "k")  # type: ignore[attr-defined]


# -- downloading ------------------------------------------------------------------------------
def test_a_folder_round_trips_byte_for_byte(workspace: Workspace, model_dir: Path,
                                            tmp_path: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist")
    path = model.download(target_dir=tmp_path / "deploy")
    assert path == str(tmp_path / "deploy" / "model")
    assert read_tree(Path(path)) == read_tree(model_dir)
    assert sorted(p.name for p in (tmp_path / "deploy").iterdir()) == ["model"]


def test_a_file_model_downloads_as_that_file(workspace: Workspace, model_dir: Path,
                                             tmp_path: Path) -> None:
    model = Model.register(workspace, model_dir / "weights.bin", "mnist")
    path = model.download(tmp_path / "deploy")
    assert path == str(tmp_path / "deploy" / "weights.bin")
    assert Path(path).read_bytes() == WEIGHTS


def test_downloading_onto_an_existing_target_needs_exist_ok(
        workspace: Workspace, model_dir: Path, tmp_path: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist")
    target = tmp_path / "deploy"
    model.download(target)
    (target / "model" / "weights.bin").write_bytes(b"edited")
    with pytest.raises(FileExistsNoOverwriteError, match=str(target / "model")):
        model.download(target)
    assert (target / "model" / "weights.bin").read_bytes() == b"edited"
    model.download(target, exist_ok=True)
    assert read_tree(target / "model") == read_tree(model_dir)


def test_a_corrupted_artifact_is_detected_and_nothing_is_written(
        workspace: Workspace, model_dir: Path, tmp_path: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist")
    stored = workspace.artifacts.path_of(f"{model.url}/weights.bin")  # type: ignore[attr-defined]
    damaged = bytearray(stored.read_bytes())
    damaged[1000] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    target = tmp_path / "deploy"
    with pytest.raises(ChecksumMismatchError, match=r"model mnist:1.*'model/weights.bin'"):
        model.download(target)
    assert list(target.iterdir()) == []
    with pytest.raises(OSError, match="does not match what was registered"):
        Model.get_model_path("mnist", _workspace=workspace)


def test_a_truncated_artifact_is_detected(workspace: Workspace, model_dir: Path,
                                          tmp_path: Path) -> None:
    model = Model.register(workspace, model_dir / "weights.bin", "mnist")
    stored = workspace.artifacts.path_of(model.url)  # type: ignore[attr-defined]
    stored.write_bytes(WEIGHTS[:-1])
    with pytest.raises(ChecksumMismatchError):
        model.download(tmp_path)
    assert not (tmp_path / "weights.bin").exists()


# -- the cache -------------------------------------------------------------------------------
def test_get_model_path_downloads_into_the_cache_once(workspace: Workspace, model_dir: Path,
                                                      model_cache: Path) -> None:
    model = Model.register(workspace, model_dir, "mnist")
    path = Path(Model.get_model_path("mnist", _workspace=workspace))
    assert path.is_relative_to(model_cache / "mnist" / "1")
    assert path.name == "model"
    assert read_tree(path) == read_tree(model_dir)
    # a second call uses the cached copy: the stored files are not read again
    workspace.artifacts.path_of(f"{model.url}/weights.bin").unlink()  # type: ignore[attr-defined]
    assert Model.get_model_path("mnist", version=1, _workspace=workspace) == str(path)


def test_the_cache_keeps_two_workspaces_models_of_the_same_name_apart(
        tmp_path: Path, model_dir: Path) -> None:
    one = Workspace.create("one", path=tmp_path / "one")
    two = Workspace.create("two", path=tmp_path / "two")
    Model.register(one, model_dir / "weights.bin", "mnist")
    other = tmp_path / "weights.bin"
    other.write_bytes(b"another model")
    Model.register(two, other, "mnist")
    assert Path(Model.get_model_path("mnist", _workspace=one)).read_bytes() == WEIGHTS
    assert Path(Model.get_model_path("mnist", _workspace=two)).read_bytes() == b"another model"


def test_get_model_path_without_a_workspace_finds_it_from_the_current_folder(
        workspace: Workspace, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Model.register(workspace, model_dir / "config.json", "cfg")
    (workspace.path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(workspace.path / "deep" / "er")
    assert Path(Model.get_model_path("cfg")).read_text() == '{"layers": [300, 100]}'


# -- concurrency ------------------------------------------------------------------------------
def test_eight_threads_registering_at_once_get_versions_1_to_8(
        workspace: Workspace, tmp_path: Path) -> None:
    workspace.store, workspace.artifacts  # noqa: B018 - open both before the race
    barrier = threading.Barrier(8)
    versions: dict[int, int] = {}
    errors: list[BaseException] = []

    def register(index: int) -> None:
        source = tmp_path / f"weights-{index}.bin"
        source.write_bytes(f"thread {index}".encode())
        barrier.wait()
        try:
            versions[index] = Model.register(workspace, source, "contended").version
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(versions.values()) == list(range(1, 9))
    for index, version in versions.items():  # each version holds its own thread's file
        path = Model(workspace, "contended", version=version).download(tmp_path / f"d{index}")
        assert Path(path).read_bytes() == f"thread {index}".encode()


REGISTER_MANY = """
import sys, time
from pathlib import Path
from runyard import Workspace, Model
ws = Workspace.from_config(sys.argv[1])
ws.store, ws.artifacts
source = Path(sys.argv[2])
Path(sys.argv[3]).touch()                       # ready
while not Path(sys.argv[4]).exists():           # go
    time.sleep(0.005)
for _ in range(int(sys.argv[5])):
    print(Model.register(ws, source, "contended").version, flush=True)
"""


def test_two_processes_registering_at_once_get_distinct_consecutive_versions(
        workspace: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "register_many.py"
    script.write_text(textwrap.dedent(REGISTER_MANY))
    go = tmp_path / "go"
    processes = []
    for index in range(2):
        source = tmp_path / f"process-{index}.bin"
        source.write_bytes(b"x" * 10_000)
        processes.append(subprocess.Popen(
            [sys.executable, str(script), str(workspace.path), str(source),
             str(tmp_path / f"ready-{index}"), str(go), "6"],
            stdout=subprocess.PIPE, text=True))
    wait_for(lambda: all((tmp_path / f"ready-{i}").exists() for i in range(2)))
    go.touch()
    outputs = [p.communicate(timeout=60)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    versions = [int(v) for out in outputs for v in out.split()]
    assert sorted(versions) == list(range(1, 13))
    assert [m.version for m in Model.list(workspace, name="contended")] == list(range(12, 0, -1))


# -- from runs ----------------------------------------------------------------------------------
def test_run_register_model_records_the_run_and_experiment(
        experiment: Experiment, tmp_path: Path) -> None:
    run = interactive_run_with(experiment, {"outputs/model/weights.bin": WEIGHTS,
                                            "outputs/model/config.json": b"{}",
                                            "outputs/model.txt": b"not in the folder",
                                            "logs/driver_0.txt": b"log"}, tmp_path)
    model = run.register_model("mnist", model_path="outputs/model/", tags={"k": "v"},
                               model_framework="TensorFlow")
    assert (model.id, model.run_id, model.experiment_name) == ("mnist:1", run.id, "tests")
    assert model.run == run
    assert model.source_path == "outputs/model"
    assert [f["path"] for f in model.files] == ["model/config.json", "model/weights.bin"]
    assert model.tags == {"k": "v"}
    assert model.model_framework == "TensorFlow"
    path = model.download(tmp_path / "deploy")
    assert read_tree(Path(path)) == {"config.json": b"{}", "weights.bin": WEIGHTS}


def test_run_register_model_of_a_single_file_and_the_default_path(
        experiment: Experiment, tmp_path: Path) -> None:
    run = interactive_run_with(experiment, {"outputs/model.pkl": b"pickle",
                                            "clf.pkl": b"clf"}, tmp_path)
    model = run.register_model("sk", model_path="outputs/model.pkl")
    assert model.files[0]["path"] == "model.pkl"
    assert Path(model.download(tmp_path / "d")).read_bytes() == b"pickle"
    assert run.register_model("clf.pkl").files[0]["path"] == "clf.pkl"  # v1: path = name


def test_a_model_path_not_among_the_runs_files_lists_them_and_registers_nothing(
        experiment: Experiment, workspace: Workspace, tmp_path: Path) -> None:
    run = interactive_run_with(experiment, {f"outputs/file{i:02}.txt": b"x" for i in range(25)},
                               tmp_path)
    with pytest.raises(ArtifactNotFoundError, match="no file or folder 'outputs/model'") as e:
        run.register_model("mnist", model_path="outputs/model")
    message = str(e.value)
    assert "outputs/file00.txt" in message
    assert "outputs/file19.txt" in message
    assert "outputs/file20.txt" not in message
    assert "25 in all" in message
    with pytest.raises(ArtifactNotFoundError):  # a plain string prefix is not a folder
        run.register_model("mnist", model_path="outputs/file0")
    with pytest.raises(InvalidNameError):
        run.register_model("bad name", model_path="outputs/file00.txt")
    assert workspace.store.list_models() == []
    assert stored_keys(workspace) == []


TRAIN_AND_SAVE = """
import json, os
os.makedirs("outputs/model", exist_ok=True)
with open("outputs/model/weights.bin", "wb") as f:
    f.write(bytes(range(256)) * 1000)
with open("outputs/model/config.json", "w") as f:
    json.dump({"layers": [300, 100]}, f)
print("saved")
"""


def test_register_model_from_a_submitted_runs_outputs(
        submit: Callable[..., Run], tmp_path: Path) -> None:
    run = submit(TRAIN_AND_SAVE)
    run.wait_for_completion(timeout_seconds=120)
    model = run.register_model(model_name="tf-dnn-mnist", model_path="outputs/model",
                               model_framework=Model.Framework.TENSORFLOW)
    assert (model.version, model.run_id, model.experiment_name) == (1, run.id, "tests")
    path = Path(model.download(tmp_path / "deploy"))
    assert read_tree(path) == {"config.json": b'{"layers": [300, 100]}', "weights.bin": WEIGHTS}
    assert run.register_model("tf-dnn-mnist", "outputs/model").version == 2


UPLOAD_THEN_WAIT = """
import sys, time
from pathlib import Path
from runyard import Run
run = Run.get_context()
Path("early.bin").write_bytes(b"checkpoint 1")
run.upload_file("checkpoints/early.bin", "early.bin")
run.flush()
while not Path(sys.argv[1]).exists():
    time.sleep(0.05)
"""


def test_registering_from_a_running_run_warns_and_takes_only_uploaded_files(
        submit: Callable[..., Run], tmp_path: Path) -> None:
    release = tmp_path / "release"
    run = submit(UPLOAD_THEN_WAIT, arguments=[str(release)])
    try:
        wait_for(lambda: "checkpoints/early.bin" in run.get_file_names(), timeout=60)
        assert run.get_status() == "Running"
        with pytest.warns(UserWarning, match="is still Running: only the files it has "
                                             "uploaded so far are registered") as caught:
            model = run.register_model("ckpt", model_path="checkpoints/early.bin")
        assert caught[0].filename == __file__
        assert Path(model.download(tmp_path / "d")).read_bytes() == b"checkpoint 1"
        with pytest.raises(ArtifactNotFoundError,
                           match=r"no file or folder 'outputs/model' yet \(it is Running"):
            run.register_model("ckpt", model_path="outputs/model")
        assert [m.version for m in Model.list(run.workspace, name="ckpt")] == [1]
    finally:
        release.touch()
    run.wait_for_completion(timeout_seconds=60)


GET_MODEL_PATH = """
from runyard import Model
path = Model.get_model_path("tf-dnn-mnist")
print("MODEL AT", path)
with open(path + "/config.json") as f:
    print("CONFIG", f.read())
"""


def test_get_model_path_inside_a_submitted_run_finds_the_workspace(
        submit: Callable[..., Run], workspace: Workspace, model_dir: Path,
        model_cache: Path) -> None:
    Model.register(workspace, model_dir, "tf-dnn-mnist")
    run = submit(GET_MODEL_PATH)
    run.wait_for_completion(timeout_seconds=120)
    log = run.read_log("logs/driver_0.txt").decode()
    assert 'CONFIG {"layers": [300, 100]}' in log
    assert f"MODEL AT {model_cache}/tf-dnn-mnist/1/" in log
