"""Datastores: real folders, real files, real runs that read DataReferences."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.data import DataReference, Datastore, apply_data_references
from runyard.data._filesystems import LocalBackend
from runyard.errors import (
    FileExistsNoOverwriteError,
    InvalidArtifactPathError,
    InvalidNameError,
    MissingExtraError,
    SourceNotFoundError,
    UnknownBackendError,
    UnknownDatastoreError,
    ValidationError,
)


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _checksums(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return _tree(tmp_path / "data", {"train/a.bin": b"a" * 100, "train/b.bin": b"b" * 7,
                                     "test/c.bin": b"", "labels.txt": b"0 1 2\n"})


# -- the default datastore and registration ----------------------------------------------
def test_the_default_datastore_is_a_folder_in_the_workspace_registered_on_first_use(
        workspace: Workspace) -> None:
    assert workspace.store.list_datastores() == []
    ds = workspace.get_default_datastore()
    folder = workspace.path / ".runyard" / "datastores" / "workspaceblobstore"
    assert ds.name == "workspaceblobstore"
    assert ds.url == folder.as_uri()
    assert folder.is_dir()
    assert ds.is_default
    assert ds.datastore_type == "file"
    assert list(workspace.datastores) == ["workspaceblobstore"]
    assert Datastore(workspace) == ds == Datastore.get(workspace, "workspaceblobstore")


def test_the_default_datastore_moves_with_the_workspace(workspace: Workspace,
                                                        tmp_path: Path) -> None:
    workspace.get_default_datastore()
    workspace.store.close()
    moved = tmp_path / "moved"
    shutil.copytree(workspace.path, moved)
    copy = Workspace.from_config(moved)
    assert copy.get_default_datastore().local_path == moved / ".runyard/datastores/" \
        "workspaceblobstore"
    copy.store.close()


def test_a_second_file_datastore_at_another_folder_is_used_like_the_default(
        workspace: Workspace, data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    ds = Datastore.register(workspace, "scratch_2", str(folder))
    assert ds.url == folder.resolve().as_uri()
    ds.upload(data, target_path="set", show_progress=False)
    assert _checksums(folder / "set") == _checksums(data)
    assert sorted(workspace.datastores) == ["scratch_2", "workspaceblobstore"]
    assert Datastore(workspace, "scratch_2").local_path == folder.resolve()


def test_registering_the_same_url_again_returns_it_and_another_needs_overwrite(
        workspace: Workspace, tmp_path: Path) -> None:
    first = Datastore.register(workspace, "shared", (tmp_path / "one").as_uri())
    assert Datastore.register(workspace, "shared", str(tmp_path / "one")) == first
    with pytest.raises(ValidationError, match=r"registered already .* overwrite=True"):
        Datastore.register(workspace, "shared", str(tmp_path / "two"))
    moved = Datastore.register(workspace, "shared", str(tmp_path / "two"), overwrite=True)
    assert moved.local_path == (tmp_path / "two").resolve()


def test_an_unknown_datastore_is_an_error_that_lists_the_known_ones(
        workspace: Workspace, tmp_path: Path) -> None:
    Datastore.register(workspace, "images", str(tmp_path / "images"))
    with pytest.raises(UnknownDatastoreError,
                       match=r"no datastore 'imgs'.*known datastores: images, "
                             r"workspaceblobstore") as caught:
        Datastore(workspace, "imgs")
    assert caught.value.valid == ["images", "workspaceblobstore"]  # type: ignore[attr-defined]
    assert isinstance(caught.value, KeyError)


@pytest.mark.parametrize(("name", "problem"), [
    ("my store", "a space"), ("a/b", "'/'"), ("", "is empty"), ("x" * 256, "256 characters"),
    ("dash-name", "'-'"),
])
def test_datastore_names_are_letters_digits_and_underscores(
        workspace: Workspace, tmp_path: Path, name: str, problem: str) -> None:
    with pytest.raises(InvalidNameError, match=problem):
        Datastore.register(workspace, name, str(tmp_path / "d"))
    assert workspace.store.list_datastores() == []


def test_s3_without_s3fs_names_the_missing_extra_at_register(workspace: Workspace) -> None:
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed here")
    with pytest.raises(MissingExtraError, match=r"s3:// needs s3fs: pip install s3fs") as caught:
        Datastore.register(workspace, "lake", "s3://bucket/data")
    assert isinstance(caught.value, ImportError)
    assert caught.value.package == "s3fs"  # type: ignore[attr-defined]
    assert workspace.store.get_datastore("lake") is None


def test_a_protocol_nobody_serves_is_refused(workspace: Workspace) -> None:
    with pytest.raises(UnknownBackendError, match="no filesystem for nosuch://"):
        Datastore.register(workspace, "odd", "nosuch://x/y")


# -- upload --------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 4])
def test_uploading_1000_small_files_then_again_skips_all_of_them(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    monkeypatch.setattr(LocalBackend, "workers", workers)  # as on a machine with more CPUs
    files = {f"part{i % 10}/file{i:04d}.txt": f"{i}\n".encode() * (i % 7 + 1)
             for i in range(1000)}
    source = _tree(tmp_path / "many", files)
    ds = workspace.get_default_datastore()
    reference = ds.upload(source, target_path="many")
    assert isinstance(reference, DataReference)
    assert reference.path_on_datastore == "many"
    assert _checksums(ds.local_path / "many") == _checksums(source)  # type: ignore[operator]
    first = capsys.readouterr().err
    assert "1000/1000 files" in first
    assert "uploaded 1000 file(s)" in first
    ds.upload(source, target_path="many")
    again = capsys.readouterr().err
    assert "uploaded 0 file(s)" in again
    assert "skipped 1000 already there" in again


def test_show_progress_false_prints_nothing(workspace: Workspace, data: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    workspace.get_default_datastore().upload(data, show_progress=False)
    assert capsys.readouterr() == ("", "")


def test_without_overwrite_a_file_with_other_content_is_an_error_and_nothing_is_written(
        workspace: Workspace, data: Path) -> None:
    ds = workspace.get_default_datastore()
    ds.upload(data, target_path="set", show_progress=False)
    (data / "labels.txt").write_bytes(b"changed, and longer\n")
    (data / "new.txt").write_bytes(b"new")
    with pytest.raises(FileExistsNoOverwriteError, match=r"1 file.*set/labels\.txt.*overwrite"):
        ds.upload(data, target_path="set", show_progress=False)
    root = ds.local_path
    assert root is not None
    assert (root / "set/labels.txt").read_bytes() == b"0 1 2\n"
    assert not (root / "set/new.txt").exists()


def test_overwrite_replaces_files_and_leaves_no_temporary_files(
        workspace: Workspace, data: Path) -> None:
    ds = workspace.get_default_datastore()
    ds.upload(data, target_path="set", show_progress=False)
    (data / "labels.txt").write_bytes(b"same size\n"[:6])  # same size, other bytes
    ds.upload(data, target_path="set", show_progress=False)  # skipped: same size
    root = ds.local_path
    assert root is not None
    assert (root / "set/labels.txt").read_bytes() == b"0 1 2\n"
    ds.upload(data, target_path="set", overwrite=True, show_progress=False)
    assert (root / "set/labels.txt").read_bytes() == b"same s"
    assert _checksums(root / "set") == _checksums(data)
    assert not [p for p in root.rglob(".*") if ".tmp-" in p.name]


def test_upload_files_keeps_paths_relative_to_relative_root(workspace: Workspace,
                                                            data: Path) -> None:
    ds = workspace.get_default_datastore()
    reference = ds.upload_files([data / "train/a.bin", data / "test/c.bin"],
                                relative_root=data, target_path="picked",
                                show_progress=False)
    root = ds.local_path
    assert root is not None
    assert _checksums(root / "picked") == {
        k: v for k, v in _checksums(data).items() if k in ("train/a.bin", "test/c.bin")}
    assert str(reference) == "$RUNYARD_DATAREFERENCE_workspaceblobstore"
    ds.upload_files([str(data / "train/a.bin"), str(data / "train/b.bin")],
                    show_progress=False)  # default root: the folder they share
    assert (root / "a.bin").read_bytes() == b"a" * 100
    assert (root / "b.bin").read_bytes() == b"b" * 7


def test_upload_files_refuses_a_file_outside_relative_root_and_missing_files(
        workspace: Workspace, data: Path) -> None:
    ds = workspace.get_default_datastore()
    with pytest.raises(ValidationError, match="not inside relative_root"):
        ds.upload_files([data / "labels.txt"], relative_root=data / "train")
    with pytest.raises(SourceNotFoundError, match="not there"):
        ds.upload_files([data / "nope.txt"])
    with pytest.raises(SourceNotFoundError, match="is a folder"):
        ds.upload_files([data / "train"])
    with pytest.raises(SourceNotFoundError, match="is not a folder"):
        ds.upload(data / "labels.txt")
    assert list(ds.local_path.rglob("*")) == []  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["../outside", "/absolute", "a/../../b", "nul\x00", "C:/x"])
def test_bad_target_paths_are_refused_and_nothing_is_written(
        workspace: Workspace, data: Path, tmp_path: Path, bad: str) -> None:
    ds = workspace.get_default_datastore()
    with pytest.raises(InvalidArtifactPathError):
        ds.upload(data, target_path=bad)
    with pytest.raises(InvalidArtifactPathError):
        ds.upload_files([data / "labels.txt"], target_path=bad)
    with pytest.raises(InvalidArtifactPathError):
        ds.download(tmp_path / "out", prefix=bad)
    with pytest.raises(InvalidArtifactPathError):
        ds.path(bad)
    with pytest.raises(InvalidArtifactPathError):
        ds.as_download(path_on_compute=bad)
    assert list(ds.local_path.rglob("*")) == []  # type: ignore[union-attr]
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path / "out").exists()


# -- download ------------------------------------------------------------------------------
def test_download_round_trip_keeps_every_byte(workspace: Workspace, data: Path,
                                              tmp_path: Path) -> None:
    ds = workspace.get_default_datastore()
    ds.upload(data, target_path="set", show_progress=False)
    assert ds.download(tmp_path / "out", show_progress=False) == 4
    assert _checksums(tmp_path / "out" / "set") == _checksums(data)
    assert ds.download(tmp_path / "out", show_progress=False) == 0  # all there already


def test_download_prefix_is_a_path_prefix_and_a_trailing_slash_means_the_folder(
        workspace: Workspace, data: Path, tmp_path: Path) -> None:
    ds = workspace.get_default_datastore()
    ds.upload(data, target_path="set", show_progress=False)
    ds.upload(data, target_path="set2", show_progress=False)
    assert ds.download(tmp_path / "a", prefix="set/train/", show_progress=False) == 2
    assert sorted(_checksums(tmp_path / "a")) == ["set/train/a.bin", "set/train/b.bin"]
    assert ds.download(tmp_path / "b", prefix="set", show_progress=False) == 8


def test_download_does_not_replace_a_changed_local_file_without_overwrite(
        workspace: Workspace, data: Path, tmp_path: Path) -> None:
    ds = workspace.get_default_datastore()
    ds.upload(data, show_progress=False)
    out = _tree(tmp_path / "out", {"labels.txt": b"mine, longer than theirs"})
    with pytest.raises(FileExistsNoOverwriteError, match=r"labels\.txt"):
        ds.download(out, show_progress=False)
    assert sorted(_checksums(out)) == ["labels.txt"]
    assert ds.download(out, overwrite=True, show_progress=False) == 4
    assert _checksums(out) == _checksums(data)


def test_any_fsspec_filesystem_works_through_the_generic_path(
        workspace: Workspace, data: Path, tmp_path: Path) -> None:
    ds = Datastore.register(workspace, "mem", f"memory://runyard-test-{os.getpid()}-"
                                              f"{tmp_path.name}")
    assert ds.local_path is None
    _tree(data, {f"many/{i:03d}.txt": str(i).encode() for i in range(100)})  # on threads
    ds.upload(data, target_path="set", show_progress=False)
    ds.upload(data, target_path="set", show_progress=False)  # skips: one listing, sizes
    assert ds.download(tmp_path / "out", prefix="set/", show_progress=False) == 104
    assert _checksums(tmp_path / "out" / "set") == _checksums(data)
    (data / "labels.txt").write_bytes(b"longer than before\n")
    with pytest.raises(FileExistsNoOverwriteError):
        ds.upload(data, target_path="set", show_progress=False)


# -- DataReferences ------------------------------------------------------------------------
def test_a_data_reference_is_a_token_and_a_config(workspace: Workspace) -> None:
    ds = workspace.get_default_datastore()
    mount = ds.as_mount()
    assert str(mount) == "$RUNYARD_DATAREFERENCE_workspaceblobstore"
    assert mount.mode == "mount"
    assert mount.path_on_datastore is None
    ref = ds.path("mnist", data_reference_name="mnist_data").as_download("inputs/mnist")
    assert str(ref) == "$RUNYARD_DATAREFERENCE_mnist_data"
    assert ref.to_config() == {
        "name": "mnist_data", "datastore": "workspaceblobstore", "url": ds.url,
        "path_on_datastore": "mnist", "mode": "download", "path_on_compute": "inputs/mnist",
        "overwrite": False}
    assert ref.path("train").path_on_datastore == "mnist/train"
    assert ref.as_mount().mode == "mount"
    with pytest.raises(ValidationError, match="mode 'upload' is not supported"):
        DataReference(ds, mode="upload")
    with pytest.raises(InvalidNameError, match="data_reference_name"):
        ds.path("x", data_reference_name="has space")


def test_tokens_are_replaced_by_whole_name_and_set_both_variables(
        workspace: Workspace, tmp_path: Path) -> None:
    one = Datastore.register(workspace, "ds", str(tmp_path / "one"))
    two = Datastore.register(workspace, "ds2", str(tmp_path / "two"))
    references = {r.data_reference_name: r.to_config() for r in (one.as_mount(),
                                                                  two.path("sub").as_mount())}
    said: list[str] = []
    arguments, environment = apply_data_references(
        workspace, references,
        ["--a=$RUNYARD_DATAREFERENCE_ds2/x", "$AZUREML_DATAREFERENCE_ds",
         "$RUNYARD_DATAREFERENCE_other", "plain"], tmp_path / "wd", said.append)
    one_path, two_path = str((tmp_path / "one").resolve()), str((tmp_path / "two/sub").resolve())
    assert arguments == [f"--a={two_path}/x", one_path, "$RUNYARD_DATAREFERENCE_other", "plain"]
    assert environment == {"RUNYARD_DATAREFERENCE_ds": one_path,
                           "AZUREML_DATAREFERENCE_ds": one_path,
                           "RUNYARD_DATAREFERENCE_ds2": two_path,
                           "AZUREML_DATAREFERENCE_ds2": two_path}
    assert len(said) == 2
    assert "mounted in place" in said[0]


def test_download_mode_of_a_single_file_copies_that_file(workspace: Workspace, data: Path,
                                                          tmp_path: Path) -> None:
    ds = workspace.get_default_datastore()
    ds.upload(data, show_progress=False)
    ref = ds.path("train/a.bin").as_download()
    arguments, _ = apply_data_references(workspace, {"workspaceblobstore": ref.to_config()},
                                         [str(ref)], tmp_path / "wd", lambda _: None)
    assert arguments == [str(tmp_path / "wd/workspaceblobstore/a.bin")]
    assert Path(arguments[0]).read_bytes() == b"a" * 100


READER = """
    import os, sys
    from pathlib import Path
    from runyard import Run
    run = Run.get_context()
    folder = Path(sys.argv[2])
    from_env = Path(os.environ["RUNYARD_DATAREFERENCE_mnist"])
    assert from_env == folder, (from_env, folder)
    assert os.environ["AZUREML_DATAREFERENCE_mnist"] == str(folder)
    run.log("labels", (folder / "labels.txt").read_text().strip())
    run.log("train_bytes", len((from_env / "train" / "a.bin").read_bytes()))
    run.log("inside_workdir", int(folder.resolve().is_relative_to(Path.cwd().resolve())))
"""


@pytest.mark.parametrize("mode", ["mount", "download"])
def test_a_data_reference_reaches_a_submitted_script_as_a_readable_path(
        workspace: Workspace, experiment: Experiment, source: Callable[..., Path], data: Path,
        mode: str) -> None:
    ds = workspace.get_default_datastore()
    ds.upload(data, target_path="mnist", show_progress=False)
    ref = ds.path("mnist", data_reference_name="mnist")
    ref = ref.as_mount() if mode == "mount" else ref.as_download()
    config = ScriptRunConfig(source(READER), "train.py", arguments=["--data-folder", ref])
    run = experiment.submit(config)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", run.get_details().get("error")
    assert run.get_metrics() == {"labels": "0 1 2", "train_bytes": 100,
                                 "inside_workdir": int(mode == "download")}
    assert details["runDefinition"]["arguments"] == ["--data-folder",
                                                     "$RUNYARD_DATAREFERENCE_mnist"]
    supervisor_log = run.read_log("logs/supervisor.txt", 0).decode()
    assert "data reference mnist" in supervisor_log


def test_two_data_references_with_one_name_and_other_paths_are_refused_at_submit(
        workspace: Workspace, experiment: Experiment, source: Callable[..., Path]) -> None:
    ds = workspace.get_default_datastore()
    config = ScriptRunConfig(source("pass\n"), "train.py",
                             arguments=[ds.path("train"), ds.path("test")])
    with pytest.raises(ValidationError, match=r"second DataReference named "
                                              r"'workspaceblobstore'.*data_reference_name"):
        experiment.submit(config)
    assert workspace.store.list_runs() == []


def test_a_missing_datastore_is_an_error_at_submit_and_leaves_no_run(
        workspace: Workspace, experiment: Experiment, source: Callable[..., Path],
        tmp_path: Path) -> None:
    import sqlalchemy as sa

    ds = Datastore.register(workspace, "gone", str(tmp_path / "gone"))
    reference = ds.as_mount()
    # there is no unregister yet: take the row away underneath, as another client could
    engine = sa.create_engine(workspace.store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM datastores WHERE name = 'gone'"))
    engine.dispose()
    config = ScriptRunConfig(source("pass\n"), "train.py", arguments=[reference])
    with pytest.raises(UnknownDatastoreError, match="datastore 'gone', which is not registered"):
        experiment.submit(config)
    assert workspace.store.list_runs() == []


def test_a_run_whose_download_reference_points_nowhere_still_runs_with_an_empty_folder(
        workspace: Workspace, submit: Callable[..., Run]) -> None:
    ref = workspace.get_default_datastore().path("nothing").as_download()
    run = submit("import os, sys\nassert os.listdir(sys.argv[1]) == []\n", arguments=[ref])
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed"


def test_importing_runyard_data_loads_neither_fsspec_nor_rich() -> None:
    code = ("import sys, runyard.data\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'fsspec', 'rich'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
