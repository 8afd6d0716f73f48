from __future__ import annotations

from pathlib import Path

import pytest

from runyard import Workspace
from runyard.artifacts import snapshot


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


def test_runyardignore_wins_over_gitignore(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {
        "train.py": "", "data/big.csv": "", "notes.log": "", "keep.log": "",
        ".runyardignore": "data/\n*.log\n!keep.log\n", ".gitignore": "train.py\n",
        ".git/HEAD": "", ".runyard/config.json": "",
    })
    assert snapshot.source_files(src) == [".gitignore", ".runyardignore", "keep.log",
                                          "train.py"]


def test_gitignore_is_honoured_without_runyardignore(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": "", "cache/x": "", ".gitignore": "cache/\n"})
    assert snapshot.source_files(src) == [".gitignore", "train.py"]


def test_resubmitting_an_unchanged_folder_stores_no_new_bytes(tmp_path: Path) -> None:
    ws = Workspace.create("w", path=tmp_path / "ws")
    src = _tree(tmp_path / "src", {"train.py": "print(1)", "lib/util.py": "x = 1" * 100})
    first = snapshot.take(src, ws.artifacts)
    second = snapshot.take(src, ws.artifacts)
    assert first.id == second.id
    assert first.new_bytes == first.bytes > 0
    assert second.new_bytes == 0
    (src / "train.py").write_text("print(2)")
    third = snapshot.take(src, ws.artifacts)
    assert third.id != first.id
    assert third.new_bytes == len("print(2)")


def test_materialize_restores_files_and_the_executable_bit(tmp_path: Path) -> None:
    ws = Workspace.create("w", path=tmp_path / "ws")
    src = _tree(tmp_path / "src", {"run.sh": "#!/bin/sh", "a/b.txt": "b"})
    (src / "run.sh").chmod(0o755)
    taken = snapshot.take(src, ws.artifacts)
    out = tmp_path / "out"
    assert snapshot.materialize(taken.id, ws.artifacts, out) == 2
    assert (out / "a" / "b.txt").read_text() == "b"
    assert (out / "run.sh").stat().st_mode & 0o100


def test_a_large_snapshot_warns_with_its_size(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create("w", path=tmp_path / "ws")
    src = _tree(tmp_path / "src", {"weights.bin": "x" * 4096})
    monkeypatch.setattr(snapshot, "LARGE_SNAPSHOT_BYTES", 1024)
    with pytest.warns(UserWarning, match=r"MiB in 1 files.*\.runyardignore"):
        snapshot.take(src, ws.artifacts)
