"""kill -9 of a supervisor in each stage, a full disk, and an end state set before the
supervisor starts (issue 11, items 13-15): the run ends Failed naming the stage, no
process of it is left (a `setsid` double-forked daemon included), no half-written file,
no scratch folder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Environment, Experiment, Run, ScriptRunConfig, Workspace
from runyard._procfs import supervisors_of
from runyard.artifacts.local import is_temporary
from runyard.compute.local import Slot
from runyard.environment._definition import spec_hash

from .conftest import _processes_mentioning, wait_for

# The script leaves a plain child and a setsid double-forked daemon behind, each with the
# token on its command line, then writes outputs (big ones with BIG set) and sleeps.
SCRIPT = """
    import os, subprocess, sys, time
    token = sys.argv[1]
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", token])
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c",
                                      "import signal, time\\n"
                                      "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
                                      "time.sleep(300)", token, "daemon"])
        os._exit(0)
    os.makedirs("outputs", exist_ok=True)
    for index in range(int(os.environ.get("BIG", "0"))):
        with open(f"outputs/part-{index:03}.bin", "wb") as handle:
            handle.write(os.urandom(1 << 20) * 8)
    print("ready", flush=True)
    time.sleep(0 if os.environ.get("BIG") else 300)
"""


def _supervisor_pid(run: Run) -> int:
    return int(wait_for(lambda: run.workspace.store.get_run(run.id)["supervisor_pid"]))  # type: ignore[arg-type]


def _kill_and_check(run: Run, stage: str, token: str) -> float:
    """SIGKILL the run's supervisor; return the seconds until nothing of it is left."""
    ws = run.workspace
    os.kill(_supervisor_pid(run), signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: not _processes_mentioning(token) and not supervisors_of(run.id),
             timeout=10)
    gone = time.monotonic() - killed
    wait_for(lambda: run.get_status() == "Failed", timeout=10)
    error = run.get_details()["error"]["error"]["message"]
    assert f"died while the run was {stage}" in error
    assert "killed by SIGKILL" in error
    assert not ws.run_dir(run.id).exists(), "the scratch folder is left"
    artifacts = ws.path / ".runyard" / "artifacts" / "runs" / run.id
    left = [name for _, _, names in os.walk(artifacts) for name in names
            if is_temporary(name)]
    assert left == []
    return gone


@pytest.fixture
def env_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "env-cache"
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(cache))  # the supervisor inherits it
    return cache


@contextlib.contextmanager
def _held(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _config(source: Callable[..., Path], token: str, **kwargs: object) -> ScriptRunConfig:
    return ScriptRunConfig(str(source(SCRIPT)), "train.py", arguments=[token],
                           **kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
def test_kill_9_while_preparing(experiment: Experiment, source: Callable[..., Path],
                                env_cache: Path) -> None:
    environment = Environment("held")
    environment.python.conda_dependencies.add_pip_package("six")
    digest = spec_hash(environment.build_spec())
    token = f"fault-{uuid.uuid4().hex}"
    with _held(env_cache / ".locks" / f"{digest}.lock"):  # "being built by another run"
        run = experiment.submit(_config(source, token, environment=environment))
        wait_for(lambda: run.get_status() == "Preparing")
        time.sleep(0.3)
        assert _kill_and_check(run, "Preparing", token) < 10


@pytest.mark.slow
def test_kill_9_while_queued(workspace: Workspace, experiment: Experiment,
                             source: Callable[..., Path]) -> None:
    workspace.compute_targets["local"].update(max_concurrent_runs=1)
    slot = Slot(workspace.config_dir / "slots" / "local")
    assert slot.try_acquire(1)  # the one slot is taken
    try:
        token = f"fault-{uuid.uuid4().hex}"
        run = experiment.submit(_config(source, token))
        wait_for(lambda: run.get_status() == "Queued")
        assert _kill_and_check(run, "Queued", token) < 10
    finally:
        slot.release()


@pytest.mark.slow
def test_kill_9_while_running_leaves_no_process_not_even_a_setsid_daemon(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    token = f"fault-{uuid.uuid4().hex}"
    run = experiment.submit(_config(source, token))
    wait_for(lambda: b"ready" in run.read_log("logs/driver_0.txt"))
    wait_for(lambda: len(_processes_mentioning(token)) >= 3)  # script, child, daemon
    assert _kill_and_check(run, "Running", token) < 10
    # what the script printed is kept with the run
    assert b"ready" in run.read_log("logs/driver_0.txt")
    assert "logs/driver_0.txt" in run.get_file_names()


@pytest.mark.slow
def test_kill_9_while_finalizing(experiment: Experiment, source: Callable[..., Path]) -> None:
    token = f"fault-{uuid.uuid4().hex}"
    run = experiment.submit(_config(source, token, environment_variables={"BIG": "60"}))
    wait_for(lambda: run.get_status() == "Finalizing", timeout=60, every=0.01)
    assert _kill_and_check(run, "Finalizing", token) < 10


@pytest.mark.slow
def test_fail_or_cancel_before_the_supervisor_starts_sticks(
        experiment: Experiment, source: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # started by exec (~0.3 s), the supervisor reads the run after fail()/cancel() below;
    # the fork server starts it fast enough to run the script before them
    monkeypatch.setenv("RUNYARD_ZYGOTE", "0")
    folder = source("print('must never run')\n")
    failed = experiment.submit(ScriptRunConfig(str(folder), "train.py"))
    failed.fail("stopped by hand")
    canceled = experiment.submit(ScriptRunConfig(str(folder), "train.py"))
    canceled.cancel()
    for run in (failed, canceled):
        wait_for(lambda run=run: run.workspace.store.get_run(run.id)["supervisor_pid"])
        wait_for(lambda run=run: not supervisors_of(run.id), timeout=20)
        stages = [s["status"] for s in run.get_details()["stages"]]
        assert not {"Running", "Completed", "Finalizing"} & set(stages), stages
        assert b"must never run" not in run.read_log("logs/driver_0.txt")
    assert failed.get_status() == "Failed"
    assert canceled.get_status() == "Canceled"


@pytest.mark.slow
def test_a_full_disk_fails_the_run_saying_so(tmp_path: Path) -> None:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        ws = Workspace.create("full", path=mount / "ws")
        folder = tmp_path / "src"
        folder.mkdir()
        (folder / "train.py").write_text(
            "import os\n"
            "os.makedirs('outputs', exist_ok=True)\n"
            "block = os.urandom(1 << 20)\n"
            "try:\n"
            "    with open('outputs/big.bin', 'wb') as handle:\n"
            "        for _ in range(64):\n"
            "            handle.write(block)\n"
            "except OSError as e:\n"
            "    print('the script saw:', e, flush=True)\n")
        run = Experiment(ws, "full").submit(ScriptRunConfig(str(folder), "train.py"))
        wait_for(lambda: run.get_status() in ("Completed", "Failed", "Canceled"), timeout=60)
        assert run.get_status() == "Failed"
        error = run.get_details()["error"]["error"]["message"]
        assert "no space left on device" in error.lower(), error
        wait_for(lambda: not supervisors_of(run.id), timeout=20)
    finally:
        for pid in _processes_mentioning(str(mount)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["umount", "-l", str(mount)], check=False)
