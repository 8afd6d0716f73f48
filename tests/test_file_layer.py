"""One file layer (issue 13, item 5): one atomic-write helper (`runyard._atomic`), the
artifact store on any fsspec URL (file:// stays the plain-os default), and the
`local_path` / `remove_prefix` hooks every caller uses instead of asking which store it
has."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from runyard import Model, Workspace
from runyard._atomic import atomic_folder, atomic_open, atomic_write, is_temporary
from runyard.artifacts import ArtifactStore, open_artifact_store, snapshot
from runyard.artifacts.base import ARTIFACT_STORES
from runyard.artifacts.local import LocalArtifactStore
from runyard.errors import ArtifactNotFoundError, MissingExtraError, UnknownBackendError
from runyard.models import _register
from runyard.supervisor._recover import _drop_temporaries


def _everything(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


class _Breaks:
    """A stream that gives 3 MiB, then fails as a dying disk or network would."""

    def __init__(self) -> None:
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        if self.sent >= 3 << 20:
            raise OSError(errno.EIO, "the source went away")
        self.sent += 1 << 20
        return b"x" * (1 << 20)


# -- the atomic helper ---------------------------------------------------------------------
def test_a_writer_that_raises_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    tmp_path = tmp_path / "box"
    tmp_path.mkdir()
    target = tmp_path / "config.json"
    atomic_write(target, '{"old": true}\n', durable=True)

    def half_a_config() -> None:
        with atomic_open(target, "w") as handle:
            handle.write('{"new": ')
            raise RuntimeError("halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        half_a_config()
    assert json.loads(target.read_text()) == {"old": True}
    with pytest.raises(OSError, match="went away"):
        atomic_write(tmp_path / "model.bin", _Breaks())
    assert _everything(tmp_path) == ["config.json"]


def test_a_folder_is_renamed_into_place_whole_or_not_at_all(tmp_path: Path) -> None:
    tmp_path = tmp_path / "box"
    tmp_path.mkdir()
    target = tmp_path / "env"

    def half_a_build() -> None:
        with atomic_folder(target) as folder:
            (folder / "bin").mkdir()
            (folder / "bin" / "python").write_text("half")
            raise RuntimeError("build failed")

    with pytest.raises(RuntimeError, match="build failed"):
        half_a_build()
    assert _everything(tmp_path) == []
    with atomic_folder(target) as folder:
        (folder / "done").write_text("1")
    assert _everything(tmp_path) == ["env", "env/done"]
    with atomic_folder(target, exist_ok=True) as folder:  # another process made it first
        (folder / "done").write_text("2")
    assert (target / "done").read_text() == "1"
    with pytest.raises(FileExistsError, match="appeared"), atomic_folder(target) as folder:
        pass
    assert _everything(tmp_path) == ["env", "env/done"]


def test_atomic_open_refuses_modes_that_are_not_a_fresh_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be one of w, wt, wb, got 'a'"):
        atomic_open(tmp_path / "log.txt", "a")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root mounts it; elsewhere the test is skipped)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_leaves_no_half_file_anywhere(small_disk: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 << 20))
    target = small_disk / "config.json"
    atomic_write(target, b"old", durable=True)
    writes: list[Callable[[], int]] = [
        lambda: atomic_write(target, big.read_bytes()),
        lambda: atomic_write(target, io.BytesIO(big.read_bytes()), durable=True)]
    for write in writes:
        with pytest.raises(OSError, match="No space left") as caught:
            write()
        assert caught.value.errno == errno.ENOSPC
        assert target.read_bytes() == b"old"
        assert _everything(small_disk) == ["config.json"]
    store = open_artifact_store((small_disk / "artifacts").as_uri())
    with pytest.raises(OSError, match="No space left") as caught:  # in sendfile
        store.put_file(big, "runs/r1/outputs/big.bin")
    assert caught.value.errno == errno.ENOSPC
    assert list(store.list()) == []
    files = ["config.json"]  # and the folders the upload made, empty
    assert [p for p in _everything(small_disk) if (small_disk / p).is_file()] == files

    def fill_a_folder() -> None:
        with atomic_folder(small_disk / "env") as folder:
            (folder / "big.bin").write_bytes(big.read_bytes())

    with pytest.raises(OSError, match="No space left") as caught:
        fill_a_folder()
    assert caught.value.errno == errno.ENOSPC
    assert [p for p in _everything(small_disk) if (small_disk / p).is_file()] == files
    assert [p for p in os.listdir(small_disk) if p != "artifacts"] == files


# -- an artifact store on another fsspec URL -----------------------------------------------
@pytest.fixture
def memory_url() -> Iterator[str]:
    """A fresh folder of fsspec's real in-memory filesystem (shared by the process)."""
    import fsspec  # type: ignore[import-untyped]

    url = f"memory://runyard-test-{uuid.uuid4().hex}/artifacts"
    yield url
    fs = fsspec.filesystem("memory")
    with contextlib.suppress(FileNotFoundError):
        fs.rm(url.removeprefix("memory:/"), recursive=True)


def test_a_memory_url_store_uploads_lists_downloads_and_removes_a_runs_files(
        memory_url: str, tmp_path: Path) -> None:
    import fsspec

    store = open_artifact_store(memory_url)
    assert "memory" in ARTIFACT_STORES.names()  # registered for its scheme on first use
    assert store.local_path("runs/r1") is None
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(3 << 20))
    assert store.put_file(weights, "runs/r1/outputs/weights.bin") == 3 << 20
    assert store.put_stream(io.BytesIO(b"step 1\n"), "runs/r1/logs/driver_0.txt") == 7
    store.put_stream(io.BytesIO(b"keep"), "runs/r10/outputs/other.txt")
    with pytest.raises(OSError, match="went away"):
        store.put_stream(_Breaks(), "runs/r1/outputs/half.bin")  # type: ignore[arg-type]
    assert list(store.list("runs/r1")) == ["runs/r1/logs/driver_0.txt",
                                          "runs/r1/outputs/weights.bin"]
    stored = fsspec.filesystem("memory").find(memory_url.removeprefix("memory:/"))
    assert not [p for p in stored if is_temporary(p.rsplit("/", 1)[-1])]
    assert store.exists("runs/r1/outputs/weights.bin")
    store.get_file("runs/r1/outputs/weights.bin", tmp_path / "down" / "weights.bin")
    assert (tmp_path / "down" / "weights.bin").read_bytes() == weights.read_bytes()
    with store.open("runs/r1/logs/driver_0.txt") as handle:
        assert handle.read() == b"step 1\n"
    with pytest.raises(ArtifactNotFoundError, match="no artifact 'runs/r1/nothing'"):
        store.open("runs/r1/nothing")
    with pytest.raises(ArtifactNotFoundError):
        store.get_file("runs/r1/nothing", tmp_path / "down" / "nothing")
    assert _everything(tmp_path / "down") == ["weights.bin"]
    store.remove_prefix("runs/r1")
    assert list(store.list("runs/r1")) == []
    assert list(store.list()) == ["runs/r10/outputs/other.txt"]  # a prefix is a folder
    store.remove_prefix("runs/r1")  # nothing there: nothing to do


def test_a_snapshot_round_trips_through_a_memory_url_store(memory_url: str,
                                                           tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "train.py").write_text("print('hi')\n")
    (source / "pkg" / "run.sh").write_text("#!/bin/sh\n")
    (source / "pkg" / "run.sh").chmod(0o755)
    store = open_artifact_store(memory_url)
    taken = snapshot.take(source, store)
    assert snapshot.take(source, store).new_bytes == 0
    assert snapshot.materialize(taken.id, store, tmp_path / "wd") == 2
    assert (tmp_path / "wd" / "train.py").read_text() == "print('hi')\n"
    assert os.access(tmp_path / "wd" / "pkg" / "run.sh", os.X_OK)


def test_a_workspace_on_a_memory_url_registers_and_downloads_a_model(
        memory_url: str, tmp_path: Path) -> None:
    ws = Workspace.create("mem", path=tmp_path / "ws", artifact_url=memory_url)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "weights.bin").write_bytes(b"w" * 1000)
    (model_dir / "config.json").write_text("{}")
    model = Model.register(ws, str(model_dir), "mnist")
    path = Model(ws, "mnist", version=model.version).download(str(tmp_path / "out"))
    assert sorted(os.listdir(path)) == ["config.json", "weights.bin"]
    assert (Path(path) / "weights.bin").read_bytes() == b"w" * 1000


def test_a_url_no_store_opens_names_the_problem_and_registers_nothing() -> None:
    import importlib.util

    if importlib.util.find_spec("s3fs") is None:
        with pytest.raises(MissingExtraError, match=r"s3:// needs s3fs: pip install s3fs "
                                                    r"\(artifact URL 's3://bucket/x'\)"):
            open_artifact_store("s3://bucket/x")
    with pytest.raises(UnknownBackendError, match=r"no artifact store for 'nosuch' in "
                                                  r"'nosuch://x'; known schemes: file"):
        open_artifact_store("nosuch://x")
    assert "s3" not in ARTIFACT_STORES.names()
    assert "nosuch" not in ARTIFACT_STORES.names()


# -- the hooks that replace the holes ------------------------------------------------------
class MountedStore(ArtifactStore):
    """A store whose files are a folder on this machine without being the file:// store
    (a bucket mounted by a plugin): only the `local_path` hook says where they are."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._files = LocalArtifactStore("file://" + url.split("://", 1)[1])

    def _local_path(self, key: str) -> Path | None:
        return self._files.local_path(key)

    def _put_stream(self, source: BinaryIO, key: str) -> int:
        return self._files.put_stream(source, key)

    def _get_file(self, key: str, local_path: Path) -> None:
        self._files.get_file(key, local_path)

    def _exists(self, key: str) -> bool:
        return self._files.exists(key)

    def _list(self, prefix: str) -> Iterator[str]:
        return self._files.list(prefix)

    def _open(self, key: str) -> BinaryIO:
        return self._files.open(key)

    def _remove_prefix(self, prefix: str) -> None:
        self._files.remove_prefix(prefix)


@pytest.fixture
def mounted_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A `mounted://` store, registered as a plugin would be, for this test only."""
    monkeypatch.setitem(ARTIFACT_STORES._builtin, "mounted",
                        f"{__name__}:{MountedStore.__name__}")
    monkeypatch.setitem(ARTIFACT_STORES._loaded, "mounted", MountedStore)
    return f"mounted://{tmp_path / 'bucket'}"


@pytest.mark.parametrize("store", ["memory_url", "mounted_url"])
def test_a_failed_registration_removes_what_it_copied_on_any_store(
        store: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Old code removed the copied files only where the store had `remove_tree` (a
    getattr): on any other store a failed registration left them behind."""
    ws = Workspace.create("other", path=tmp_path / "ws",
                          artifact_url=request.getfixturevalue(store))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "a.bin").write_bytes(b"a" * 100)
    (model_dir / "b.bin").write_bytes(b"b" * 100)
    root, files = _register.local_files(model_dir)
    (model_dir / "b.bin").unlink()  # gone between listing and copying
    with pytest.raises(FileNotFoundError):
        _register.register(ws, "mnist", root, files)
    assert list(ws.artifacts.list()) == []
    assert ws.store.list_models(name="mnist") == []


def test_recovery_finds_half_written_files_through_local_path_on_any_store(
        tmp_path: Path, mounted_url: str) -> None:
    """Old code looked for the store's `root` attribute (a getattr): a store that is a
    folder here under another name kept its half-written files forever."""
    folder = tmp_path / "bucket"
    ws = Workspace.create("mounted", path=tmp_path / "ws", artifact_url=mounted_url)
    ws.artifacts.put_stream(io.BytesIO(b"whole"), "runs/r1/outputs/done.txt")
    half = folder / "runs" / "r1" / "outputs" / ".model.bin.tmp-0123456789ab"
    half.write_bytes(b"half")
    assert is_temporary(half.name)
    _drop_temporaries(Workspace.from_config(str(ws.path)), "r1")
    assert _everything(folder / "runs") == ["r1", "r1/outputs", "r1/outputs/done.txt"]
    assert ws.artifacts.local_path("runs/r1") == folder / "runs" / "r1"


def test_the_local_store_says_where_its_files_are_and_others_say_none(
        workspace: Workspace, memory_url: str) -> None:
    workspace.artifacts.put_stream(io.BytesIO(b"x"), "blobs/sha256/ab/cd")
    where = workspace.artifacts.local_path("blobs/sha256/ab/cd")
    assert where is not None
    assert where.read_bytes() == b"x"
    assert open_artifact_store(memory_url).local_path("blobs/sha256/ab/cd") is None


def test_a_store_without_remove_prefix_is_refused_at_construction() -> None:
    class Partial(ArtifactStore):
        def _put_stream(self, source: BinaryIO, key: str) -> int:
            return 0

        def _get_file(self, key: str, local_path: Path) -> None: ...
        def _exists(self, key: str) -> bool:
            return False

        def _list(self, prefix: str) -> Iterator[str]:
            return iter(())

        def _open(self, key: str) -> BinaryIO:
            raise ArtifactNotFoundError(key)

    with pytest.raises(TypeError, match="_remove_prefix"):
        Partial()  # type: ignore[abstract]


# -- file:// stays the light default ---------------------------------------------------------
def test_a_file_url_workspace_copies_files_without_loading_fsspec(tmp_path: Path) -> None:
    code = (
        "import sys, io\n"
        "from runyard import Workspace\n"
        f"ws = Workspace.create('light', path={str(tmp_path / 'ws')!r})\n"
        "ws.artifacts.put_stream(io.BytesIO(b'x'), 'runs/r/outputs/a.txt')\n"
        "ws.artifacts.get_file('runs/r/outputs/a.txt', "
        f"{str(tmp_path / 'a.txt')!r})\n"
        "ws.artifacts.remove_prefix('runs/r')\n"
        "print('FSSPEC', 'fsspec' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "FSSPEC False" in out
    assert (tmp_path / "a.txt").read_bytes() == b"x"
