"""Any file the file system allows: odd names, links, deep trees and long names in a run's
outputs, its snapshot and datastore uploads (docs/files.md). Real runs, the real store."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Environment, Experiment, Run, ScriptRunConfig, Workspace
from runyard.artifacts import snapshot
from runyard.artifacts._walk import make_folders, remove_tree, walk
from runyard.artifacts.local import NAME_MAX, temporary_name
from runyard.errors import InvalidArtifactPathError, ValidationError
from runyard.models import Model

# deeper than Python's recursion limit: os.walk, rglob, makedirs and rmtree all recurse
DEPTH = sys.getrecursionlimit() + 200


def _warnings(run: Run) -> list[str]:
    return [w["message"] for w in run.get_details().get("warnings", [])]


def _supervisor_log(run: Run) -> str:
    return run.read_log("logs/supervisor.txt").decode()


def _nest(top: Path, depth: int) -> Path:
    """`top/d/d/.../d` (depth folders) made without recursion; returns the deepest."""
    deepest = top.joinpath(*["d"] * depth)
    make_folders(deepest)
    return deepest


@pytest.fixture
def deep_trees(tmp_path: Path) -> Iterator[None]:
    """pytest removes old temporary folders with shutil.rmtree, which recurses: remove
    every tree a deep test made ourselves."""
    yield
    remove_tree(tmp_path)


# -- item 9: odd names under ./outputs -------------------------------------------------
ODD_OUTPUTS = r"""
    import os
    os.makedirs("outputs/sub", exist_ok=True)
    open(b"outputs/latin1-\xe9t\xe9.txt", "wb").write(b"not UTF-8")
    open("outputs/back\\slash.txt", "w").write("a backslash")
    open("outputs/" + "n" * 245, "w").write("245")
    open("outputs/" + "\u00e9" * 127 + "x", "w").write("255 bytes")
    open("outputs/ok.txt", "w").write("ok")
    open("outputs/sub/x.txt", "w").write("x")
    print("wrote the outputs")
"""


def test_odd_output_names_are_left_out_with_a_warning_and_every_other_file_is_kept(
        submit: Callable[..., Run]) -> None:
    run = submit(ODD_OUTPUTS)
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    names = run.get_file_names()
    assert [n for n in names if n.startswith("outputs/")] == sorted([
        "outputs/" + "n" * 245, "outputs/" + "\u00e9" * 127 + "x", "outputs/ok.txt",
        "outputs/sub/x.txt"])
    assert {"logs/driver_0.txt", "logs/supervisor.txt"} <= set(names)
    assert "wrote the outputs" in run.read_log("logs/driver_0.txt").decode()
    warned = _warnings(run)
    assert any(r"outputs/latin1-\xe9t\xe9.txt is not kept" in w and "UTF-8" in w
               for w in warned)
    assert any("outputs/back\\slash.txt is not kept" in w and "backslash" in w for w in warned)
    assert len(warned) == 2
    log = _supervisor_log(run)
    assert r"warning: outputs/latin1-\xe9t\xe9.txt is not kept" in log
    assert "warning: outputs/back\\slash.txt is not kept" in log


def test_every_listed_output_downloads_by_its_listed_name(submit: Callable[..., Run],
                                                           tmp_path: Path) -> None:
    run = submit(ODD_OUTPUTS)
    run.wait_for_completion()
    names = run.get_file_names()
    assert max(len(os.fsencode(n.rpartition("/")[2])) for n in names) == NAME_MAX
    for index, name in enumerate(names):
        folder = tmp_path / f"one{index}"
        folder.mkdir()
        path = Path(run.download_file(name, folder))
        assert path.name == name.rpartition("/")[2]
        with run.workspace.artifacts.open(run._key(name)) as stored:
            assert path.read_bytes() == stored.read()
    written = run.download_files(prefix="outputs/", output_directory=tmp_path / "all")
    assert sorted(Path(p).relative_to(tmp_path / "all").as_posix() for p in written) == [
        n for n in names if n.startswith("outputs/")]
    assert (tmp_path / "all" / "outputs" / ("\u00e9" * 127 + "x")).read_text() == "255 bytes"
    assert not [p for p in (tmp_path / "all").rglob("*") if ".tmp-" in p.name]


# -- item 10: symbolic links ------------------------------------------------------------
def test_a_folder_link_in_outputs_is_uploaded_and_registers_as_a_model(
        submit: Callable[..., Run], tmp_path: Path) -> None:
    run = submit("""
        import os
        os.makedirs("model_dir/variables")
        open("model_dir/saved_model.pb", "w").write("graph")
        open("model_dir/variables/v.data", "w").write("weights")
        os.symlink("../model_dir", "outputs/model")
        open("notes.txt", "w").write("notes")
        os.symlink("../notes.txt", "outputs/notes.txt")
    """)
    run.wait_for_completion()
    assert [n for n in run.get_file_names() if n.startswith("outputs/")] == [
        "outputs/model/saved_model.pb", "outputs/model/variables/v.data", "outputs/notes.txt"]
    assert _warnings(run) == []
    model = run.register_model(model_name="linked", model_path="outputs/model")
    assert model.version == 1
    path = Path(Model(run.workspace, "linked").download(tmp_path / "got"))
    assert (path / "saved_model.pb").read_text() == "graph"
    assert (path / "variables" / "v.data").read_text() == "weights"


def test_links_out_of_the_working_directory_cycles_and_dangling_links_are_named_and_left_out(
        submit: Callable[..., Run]) -> None:
    run = submit("""
        import os
        os.symlink("/", "outputs/root")
        os.symlink("/etc/passwd", "outputs/passwd")
        os.symlink(".", "outputs/self")
        os.makedirs("outputs/a/b")
        os.symlink("../..", "outputs/a/b/up")
        os.symlink("missing.txt", "outputs/dangling")
        os.mkfifo("outputs/pipe")
        open("outputs/a/b/kept.txt", "w").write("kept")
    """)
    assert run.wait_for_completion()["status"] == "Completed"
    outputs = [n for n in run.get_file_names() if n.startswith("outputs/")]
    assert outputs == ["outputs/a/b/kept.txt"]
    warned = "\n".join(_warnings(run))
    workdir = os.path.realpath(run.workspace.run_dir(run.id) / "wd")
    assert f"outputs/root is a link to /, outside {workdir}; not followed" in warned
    assert f"outputs/passwd is a link to /etc/passwd, outside {workdir}" in warned
    assert "outputs/self is a link to . that contains it (a link cycle)" in warned
    assert "outputs/a/b/up is a link to ../.. that contains it (a link cycle)" in warned
    assert "outputs/dangling is a link to missing.txt, which does not exist" in warned
    assert "outputs/pipe is not a regular file or folder" in warned
    assert len(_warnings(run)) == 6


def test_an_outputs_folder_that_is_a_link_out_is_named_and_the_logs_are_kept(
        submit: Callable[..., Run]) -> None:
    run = submit("""
        import os
        os.rmdir("outputs")
        os.symlink("/", "outputs")
        print("outputs now points out")
    """)
    assert run.wait_for_completion()["status"] == "Completed"
    assert not [n for n in run.get_file_names() if n.startswith("outputs/")]
    assert "logs/driver_0.txt" in run.get_file_names()
    (warning,) = _warnings(run)
    assert warning.startswith("outputs is a link to /, outside ")
    assert "not followed, nothing below it is copied" in warning


def test_the_snapshot_follows_links_inside_the_source_directory_only(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    folder = source("""
        import os
        print(sorted(os.listdir("lib")), open("lib/util.py").read(), open("alias.py").read())
        print("outside:", os.path.exists("etc"), os.path.exists("loop"))
    """)
    (folder / "real_lib").mkdir()
    (folder / "real_lib" / "util.py").write_text("X = 1")
    (folder / "lib").symlink_to("real_lib")
    (folder / "alias.py").symlink_to("real_lib/util.py")
    (folder / "etc").symlink_to("/etc")
    (folder / "real_lib" / "loop").symlink_to("..")
    with pytest.warns(UserWarning, match="not followed") as caught:
        run = experiment.submit(ScriptRunConfig(folder, "train.py"))
    messages = [str(w.message) for w in caught]
    assert any("etc is a link to /etc, outside" in m for m in messages)
    assert any("lib/loop is a link to .. that contains it (a link cycle)" in m for m in messages)
    assert any("real_lib/loop is a link to .. that contains it" in m for m in messages)
    assert len(messages) == 3
    run.wait_for_completion()
    log = run.read_log("logs/driver_0.txt").decode()
    assert "['util.py'] X = 1 X = 1" in log
    assert "outside: False False" in log


def test_datastore_uploads_follow_links_inside_the_folder_and_name_the_others(
        workspace: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "shards").mkdir(parents=True)
    (data / "shards" / "0.bin").write_bytes(b"\x00" * 10)
    (data / "train").symlink_to("shards")
    (data / "root").symlink_to("/")
    (data / "shards" / "again").symlink_to("..")
    ds = workspace.get_default_datastore()
    with pytest.warns(UserWarning, match="not followed") as caught:
        ds.upload(str(data), target_path="set", show_progress=False)
    messages = [str(w.message) for w in caught]
    assert any(f"root is a link to /, outside {data}" in m for m in messages)
    assert sum("that contains it (a link cycle)" in m for m in messages) == 2
    assert len(messages) == 3
    assert ds.download(tmp_path / "copy", prefix="set/", show_progress=False) == 2
    assert sorted(p.relative_to(tmp_path / "copy").as_posix()
                  for p in (tmp_path / "copy").rglob("*") if p.is_file()) == [
        "set/shards/0.bin", "set/train/0.bin"]


def test_a_datastore_upload_of_a_name_it_cannot_keep_writes_nothing(
        workspace: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "fine.txt").write_text("x")
    (data / "a\\b.txt").write_text("y")
    ds = workspace.get_default_datastore()
    with pytest.raises(ValidationError, match=r"a\\\\b.txt.*backslash"):
        ds.upload(str(data), target_path="set", show_progress=False)
    assert ds.download(tmp_path / "copy", prefix="set", show_progress=False) == 0


# -- item 11: names no process can be started with are refused at submit ---------------
REFUSED = [
    ("snapshot", r"a\\\\..\\\\..\\\\x.*backslash.*\.runyardignore"),
    ("argument", r"argument 1 'a\\x00b' contains a NUL byte"),
    ("value", r"environment variable 'TOKEN' value 'x\\x00y' contains a NUL byte"),
    ("equals", r"environment variable name 'A=B' contains '='"),
    ("nul-name", r"environment variable name 'A\\x00' contains a NUL byte"),
    ("empty-name", r"environment variable name '' is empty"),
    ("environment", r"environment: environment variable 'OK' value 'a\\x00b' contains a NUL"),
]


@pytest.mark.parametrize(("case", "problem"), REFUSED, ids=[case for case, _ in REFUSED])
def test_names_no_run_can_materialize_are_refused_at_submit_and_leave_no_run(
        experiment: Experiment, source: Callable[..., Path], case: str, problem: str) -> None:
    folder = source("print('never runs')\n")
    arguments: list[str] = ["--flag", "a\x00b"] if case == "argument" else []
    variables = {"value": {"TOKEN": "x\x00y"}, "equals": {"A=B": "1"},
                 "nul-name": {"A\x00": "1"}, "empty-name": {"": "1"}}.get(case, {})
    if case == "snapshot":
        (folder / "a\\..\\..\\x").write_text("escape")
    environment = None
    if case == "environment":
        environment = Environment("nul-value")
        environment.python.user_managed_dependencies = True
        environment.environment_variables = {"OK": "a\x00b"}
    store = experiment.workspace.store
    before = len(store.list_runs(experiment=experiment.name))
    with pytest.raises(ValidationError, match=problem):
        experiment.submit(ScriptRunConfig(folder, "train.py", arguments=arguments,
                                          environment_variables=variables,
                                          environment=environment))
    assert len(store.list_runs(experiment=experiment.name)) == before == 0
    assert list(experiment.workspace.artifacts.list()) == []  # not one snapshot blob


def test_a_snapshot_name_with_a_backslash_is_refused_naming_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("")
    (src / "win\\path.txt").write_text("")
    with pytest.raises(InvalidArtifactPathError, match=r"win\\\\path.txt"):
        snapshot.source_files(src)
    (src / ".runyardignore").write_text("win*\n")
    assert snapshot.source_files(src) == [".runyardignore", "train.py"]


# -- item 12: long and deep names ------------------------------------------------------
def test_temporary_names_fit_in_255_bytes_for_any_name() -> None:
    for name in ["x", "n" * 238, "n" * 255, "\u00e9" * 127 + "x"]:
        temporary = temporary_name(name)
        assert len(os.fsencode(temporary)) <= NAME_MAX
        assert temporary.startswith(".n" if name[0] == "n" else ".")
    assert temporary_name("a.txt").startswith(".a.txt.tmp-")


def test_a_datastore_round_trip_keeps_names_of_238_to_255_bytes(
        workspace: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    names = ["a" * 238, "b" * 255, "\u00e9" * 127 + "x"]
    for name in names:
        (data / name).write_text(name)
    ds = workspace.get_default_datastore()
    ds.upload(str(data), target_path="long", show_progress=False)
    assert ds.download(tmp_path / "copy", prefix="long/", show_progress=False) == 3
    for name in names:
        assert (tmp_path / "copy" / "long" / name).read_text() == name


@pytest.mark.usefixtures("deep_trees")
def test_deep_outputs_never_raise_recursion_error(submit: Callable[..., Run],
                                                  tmp_path: Path) -> None:
    run = submit(f"""
        import os
        os.makedirs("outputs/" + "d/" * 500)
        open("outputs/" + "d/" * 500 + "f.txt", "w").write("500 deep")
        top = os.getcwd()
        os.chdir("outputs")
        for _ in range({DEPTH}):  # one folder at a time: a single path would be too long
            os.mkdir("e")
            os.chdir("e")
        open("f.txt", "w").write("too deep")
        os.chdir(top)
        open("outputs/ok.txt", "w").write("ok")
    """)
    assert run.wait_for_completion()["status"] == "Completed"
    deep = "outputs/" + "d/" * 500 + "f.txt"
    assert [n for n in run.get_file_names() if n.startswith("outputs/")] == [
        deep, "outputs/ok.txt"]
    (warning,) = _warnings(run)
    assert "outputs/e/e/e" in warning
    assert f"is not kept: its name is {8 + 2 * DEPTH + 5} characters long" in warning
    written = run.download_files(prefix="outputs/d/", output_directory=tmp_path / "dl")
    assert [Path(p).read_text() for p in written] == ["500 deep"]


@pytest.mark.usefixtures("deep_trees")
def test_a_deep_source_directory_is_snapshotted_and_materialized(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    folder = source(f"""
        import os
        os.chdir(os.path.join(*["d"] * {DEPTH // 2}))
        os.chdir(os.path.join(*["d"] * {DEPTH - DEPTH // 2}))
        print("deep file says", open("f.txt").read())
    """)
    (_nest(folder, DEPTH) / "f.txt").write_text("hello")
    run = experiment.submit(ScriptRunConfig(folder, "train.py"))
    run.wait_for_completion()
    assert "deep file says hello" in run.read_log("logs/driver_0.txt").decode()
    assert run.get_details()["runDefinition"]["snapshot"]["files"] == 2


@pytest.mark.usefixtures("deep_trees")
def test_deep_trees_walk_upload_and_download_without_recursion(workspace: Workspace,
                                                                tmp_path: Path) -> None:
    data = tmp_path / "data"
    (_nest(data, DEPTH) / "f.txt").write_text("deep")
    (data / "top.txt").write_text("top")
    found = walk(data)
    assert [f.name for f in found.files] == ["d/" * DEPTH + "f.txt", "top.txt"]
    ds = workspace.get_default_datastore()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.upload(str(data), target_path="deep", show_progress=False)
    assert ds.download(tmp_path / "copy", prefix="deep/", show_progress=False) == 2
    assert (tmp_path / "copy" / "deep").joinpath(*["d"] * DEPTH, "f.txt").read_text() == "deep"
    remove_tree(tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_what_the_script_writes_to_logs_is_kept_with_the_runs_own_logs(
        submit: Callable[..., Run], tmp_path: Path) -> None:
    """As v1 keeps ./logs: TensorBoard's event files written there outlive the run."""
    run = submit("""
    import os
    os.makedirs("logs/train", exist_ok=True)
    with open("logs/train/events.out.tfevents.1.host", "wb") as f:
        f.write(bytes(range(256)))
    with open("logs/notes.md", "w") as f:
        f.write("epoch 1 done")
    print("wrote the logs")
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed", details.get("error")
    names = set(run.get_file_names())
    assert {"logs/train/events.out.tfevents.1.host", "logs/notes.md",
            "logs/driver_0.txt", "logs/supervisor.txt"} <= names
    run.download_file("logs/train/events.out.tfevents.1.host", str(tmp_path / "ev"))
    assert (tmp_path / "ev").read_bytes() == bytes(range(256))
    assert "wrote the logs" in run.read_log("logs/driver_0.txt").decode()
