"""`runyard datastore list|upload|download` against a real workspace and real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from runyard import Workspace
from runyard.cli import cli
from runyard.data import Datastore


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "train").mkdir(parents=True)
    (root / "train" / "a.txt").write_text("alpha\n")
    (root / "labels.txt").write_text("0 1\n")
    return root


def invoke(workspace: Workspace, *arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.path), *arguments])
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_the_default_datastore_and_registered_ones(workspace: Workspace,
                                                              tmp_path: Path) -> None:
    Datastore.register(workspace, "scratch", str(tmp_path / "scratch"))
    code, out, _ = invoke(workspace, "datastore", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "url", "default"]
    assert lines[1].split() == ["scratch", (tmp_path / "scratch").resolve().as_uri()]
    assert lines[2].split() == ["workspaceblobstore",
                                workspace.get_default_datastore().url, "yes"]


def test_upload_then_download_round_trip(workspace: Workspace, data: Path,
                                         tmp_path: Path) -> None:
    code, out, err = invoke(workspace, "datastore", "upload", str(data), "--target", "set")
    assert code == 0, err
    assert "uploaded 2 file(s)" in out
    assert "workspaceblobstore:set" in out
    assert "2/2 files" in err  # the progress bar, on stderr
    code, out, _ = invoke(workspace, "datastore", "upload", str(data), "--target", "set")
    assert "skipped 2 already there (same size; pass --overwrite to copy them again)" in out
    code, out, err = invoke(workspace, "datastore", "download", str(tmp_path / "out"),
                            "--prefix", "set/")
    assert code == 0, err
    assert "downloaded 2 file(s)" in out
    code, out, _ = invoke(workspace, "datastore", "download", str(tmp_path / "out"),
                          "--prefix", "set/")
    assert "skipped 2 already there (same size; pass --overwrite to copy them again)" in out
    assert (tmp_path / "out/set/train/a.txt").read_text() == "alpha\n"
    assert (tmp_path / "out/set/labels.txt").read_text() == "0 1\n"


def test_changed_files_need_overwrite(workspace: Workspace, data: Path, tmp_path: Path) -> None:
    invoke(workspace, "datastore", "upload", str(data))
    (data / "labels.txt").write_text("0 1 2 3\n")
    code, _, err = invoke(workspace, "datastore", "upload", str(data))
    assert code == 2
    assert err.startswith("error: 1 file(s) already exist in datastore ")
    assert err.strip().endswith("with other content, e.g. labels.txt; pass --overwrite to "
                                "replace them")
    assert "=True" not in err
    code, _, _ = invoke(workspace, "datastore", "upload", str(data), "--overwrite")
    assert code == 0
    stored = workspace.get_default_datastore().local_path
    assert stored is not None
    assert (stored / "labels.txt").read_text() == "0 1 2 3\n"


def test_another_datastore_by_name(workspace: Workspace, data: Path, tmp_path: Path) -> None:
    Datastore.register(workspace, "scratch", str(tmp_path / "scratch"))
    code, _, err = invoke(workspace, "datastore", "upload", str(data), "--datastore", "scratch")
    assert code == 0, err
    assert (tmp_path / "scratch/train/a.txt").read_text() == "alpha\n"


@pytest.mark.parametrize(("arguments", "message"), [
    (["upload", "{data}", "--target", "../up"], "error: --target '../up' contains '..'"),
    (["upload", "{data}", "--target", "/abs"], "error: --target '/abs' is absolute"),
    (["download", "{out}", "--prefix", "../x"], "error: prefix '../x' contains '..'"),
    (["upload", "{data}", "--datastore", "nope"], "error: no datastore 'nope'"),
    (["download", "{out}", "--datastore", "bad name"], "error: datastore name 'bad name'"),
])
def test_bad_input_is_one_line_and_exit_code_2(workspace: Workspace, data: Path,
                                               tmp_path: Path, arguments: list[str],
                                               message: str) -> None:
    filled = [a.format(data=data, out=tmp_path / "out") for a in arguments]
    code, _, err = invoke(workspace, "datastore", *filled)
    assert code == 2
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    stored = workspace.get_default_datastore().local_path
    assert stored is not None
    assert list(stored.iterdir()) == []


def test_a_folder_where_a_file_would_go_is_not_called_a_changed_file(
        workspace: Workspace, data: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    (target / "labels.txt").mkdir(parents=True)
    invoke(workspace, "datastore", "upload", str(data))
    code, _, err = invoke(workspace, "datastore", "download", str(target), "--overwrite")
    assert code == 2
    assert err.startswith("error: 1 destination(s) in ")
    assert "are folders, where files would go, e.g. " in err
    assert "--overwrite to replace" not in err  # --overwrite would not help
