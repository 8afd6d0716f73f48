"""Fixtures: a real workspace (SQLite + artifacts folder) per test, scripts on disk, and
cleanup of every supervisor a test started."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace

from . import slurm


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        if text.encode() in command:
            found.append(int(entry))
    return found


@pytest.fixture(autouse=True)
def _a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in a temporary folder: what a test writes relative to its folder
    (an interactive run's ./outputs, downloads) never lands in the repository."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create("test", path=tmp_path / "ws")
    yield ws
    for pid in _processes_mentioning(str(ws.path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def experiment(workspace: Workspace) -> Experiment:
    return Experiment(workspace, "tests")


@pytest.fixture
def source(tmp_path: Path) -> Callable[..., Path]:
    """Write a training script (dedented) into a fresh source folder; return the folder."""
    counter = iter(range(1_000_000))

    def write(code: str, name: str = "train.py", **extra: str) -> Path:
        folder = tmp_path / f"src{next(counter)}"
        folder.mkdir()
        (folder / name).write_text(textwrap.dedent(code))
        for extra_name, content in extra.items():
            (folder / extra_name).write_text(textwrap.dedent(content))
        return folder

    return write


@pytest.fixture
def submit(experiment: Experiment, source: Callable[..., Path]) -> Callable[..., Run]:
    def go(code: str, arguments: list[str] | None = None, **config: object) -> Run:
        folder = source(code)
        return experiment.submit(ScriptRunConfig(str(folder), "train.py",
                                                 arguments=arguments, **config))  # type: ignore[arg-type]

    return go


def wait_for(predicate: Callable[[], object], timeout: float = 30, every: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[slurm.SlurmCluster]:
    """A private one-node Slurm cluster for the session (tests/slurm.py): use
    `cluster.env` (SLURM_CONF) or `cluster.run(...)` for every Slurm command. Skips where
    Slurm is not installed, except on CI (CI=true), where that is a failure."""
    slurm.require_slurm()
    with slurm.running_cluster() as cluster:
        yield cluster
