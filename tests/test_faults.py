"""What happens when things die: supervisors, scripts, uploads; cancel; many runs at once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard._procfs import alive
from runyard.artifacts.local import copy_atomically
from runyard.run import STALE_SECONDS

from .conftest import _processes_mentioning, wait_for


def _supervisor_pid(run: Run) -> int:
    return int(wait_for(lambda: run.workspace.store.get_run(run.id)["supervisor_pid"]))  # type: ignore[arg-type]


@pytest.mark.slow
def test_sigkill_of_the_supervisor_fails_the_run_within_30_seconds(
        submit: Callable[..., Run]) -> None:
    run = submit("import time\nprint('working', flush=True)\ntime.sleep(120)\n")
    wait_for(lambda: run.get_status() == "Running")
    os.kill(_supervisor_pid(run), signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: run.get_status() == "Failed", timeout=STALE_SECONDS)
    assert time.monotonic() - killed < 30
    error = run.get_details()["error"]["error"]["message"]
    assert "supervisor" in error
    assert "died while the run was Running" in error
    # the script dies with its supervisor (PR_SET_PDEATHSIG), it is not left running
    wait_for(lambda: not _processes_mentioning(str(run.workspace.run_dir(run.id) / "wd")),
             timeout=10)


@pytest.mark.slow
def test_a_silent_supervisor_on_another_host_is_failed_after_its_heartbeat_goes_stale(
        workspace: Workspace, experiment: Experiment) -> None:
    import sqlalchemy as sa

    from runyard.store import _schema

    run = experiment.start_logging()
    stale = time.time() - STALE_SECONDS - 1
    with workspace.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.update(_schema.runs).where(_schema.runs.c.id == run.id).values(
            config={"kind": "script"}, supervisor_pid=1, supervisor_host="elsewhere",
            heartbeat_at=stale))
    assert run.get_status() == "Failed"
    assert "sent no heartbeat" in run.get_details()["error"]["error"]["message"]


@pytest.mark.slow
def test_sigkill_of_the_script_fails_the_run_with_the_signal(
        submit: Callable[..., Run]) -> None:
    run = submit("""
        import os, signal
        from runyard import Run
        Run.get_context().log("a", 1.0)
        Run.get_context().flush()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert "killed by SIGKILL" in details["error"]["error"]["message"]
    assert run.get_metrics() == {"a": 1.0}


@pytest.mark.slow
def test_on_sigkill_only_the_unflushed_buffer_is_lost(submit: Callable[..., Run]) -> None:
    run = submit("""
        import os, signal
        from runyard import Run
        run = Run.get_context()
        for i in range(5000):
            run.log("kept", float(i))
        run.flush()
        for i in range(10):
            run.log("lost", float(i))
        os.kill(os.getpid(), signal.SIGKILL)  # before the next flush interval
    """)
    run.wait_for_completion(raise_on_error=False)
    metrics = run.get_metrics()
    assert len(metrics["kept"]) == 5000
    assert len(metrics.get("lost", [])) <= 10


@pytest.mark.slow
def test_cancel_stops_every_process_even_one_that_ignores_sigterm(
        submit: Callable[..., Run], tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    run = submit(f"""
        import os, signal, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, time\\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
            "time.sleep(600)\\n"], start_new_session=True)
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        from runyard import Run
        Run.get_context().log("progress", 1.0)
        time.sleep(600)
    """)
    wait_for(lambda: pids.exists() and pids.read_text().count(" ") == 1)
    script_pid, child_pid = (int(p) for p in pids.read_text().split())
    asked = time.monotonic()
    run.cancel()
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=10)
    assert time.monotonic() - asked < 10
    assert details["status"] == "Canceled"
    assert [s["status"] for s in details["stages"]][-2:] == ["CancelRequested", "Canceled"]
    assert not alive(script_pid)
    assert not alive(child_pid)
    assert run.get_metrics() == {"progress": 1.0}  # kept: flushed on SIGTERM


@pytest.mark.slow
def test_cancel_of_a_queued_run(workspace: Workspace, experiment: Experiment,
                                source: Callable[..., Path]) -> None:
    from runyard.compute import get_compute_target

    get_compute_target(workspace, "local").update(max_concurrent_runs=1)  # type: ignore[attr-defined]
    folder = source("import time\ntime.sleep(600)\n")
    blocker = experiment.submit(ScriptRunConfig(folder, "train.py"))
    wait_for(lambda: blocker.get_status() == "Running")
    waiting = experiment.submit(ScriptRunConfig(folder, "train.py"))
    wait_for(lambda: waiting.get_status() == "Queued")
    waiting.cancel()
    assert waiting.wait_for_completion(raise_on_error=False,
                                       timeout_seconds=10)["status"] == "Canceled"
    blocker.cancel()
    assert blocker.wait_for_completion(raise_on_error=False,
                                       timeout_seconds=10)["status"] == "Canceled"


@pytest.mark.slow
def test_eight_concurrent_runs_logging_20000_metrics_each_store_every_point(
        workspace: Workspace, experiment: Experiment, source: Callable[..., Path]) -> None:
    from runyard.compute import get_compute_target

    get_compute_target(workspace, "local").update(max_concurrent_runs=8)  # type: ignore[attr-defined]
    folder = source("""
        from runyard import Run
        run = Run.get_context()
        for i in range(20_000):
            run.log("metric", float(i), step=i)
    """)
    runs = [experiment.submit(ScriptRunConfig(folder, "train.py")) for _ in range(8)]
    for run in runs:
        assert run.wait_for_completion(timeout_seconds=240)["status"] == "Completed"
    counts = [workspace.store.count_metrics(run.id) for run in runs]
    assert counts == [20_000] * 8
    assert sum(counts) == 160_000
    steps = [r["step"] for r in workspace.store.get_metrics(runs[0].id)]
    assert steps == list(range(20_000))


def test_a_failure_mid_copy_leaves_no_half_file_under_the_final_name(tmp_path: Path) -> None:
    class Breaks:
        def __init__(self) -> None:
            self.sent = 0

        def read(self, size: int = -1) -> bytes:
            if self.sent >= 3 << 20:
                raise OSError("disk went away")
            self.sent += 1 << 20
            return b"x" * (1 << 20)

    target = tmp_path / "outputs" / "model.bin"
    with pytest.raises(OSError, match="disk went away"):
        copy_atomically(Breaks(), target)  # type: ignore[arg-type]
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


@pytest.mark.slow
def test_a_supervisor_killed_during_the_output_upload_leaves_no_half_file(
        submit: Callable[..., Run]) -> None:
    run = submit("""
        import os
        os.makedirs("outputs", exist_ok=True)
        for index in range(8):
            with open(f"outputs/part{index}.bin", "wb") as handle:
                handle.write(os.urandom(1024) * (48 * 1024))  # 48 MiB each
    """)
    wait_for(lambda: run.workspace.store.get_run(run.id)["status"] == "Finalizing",
             timeout=60, every=0.01)
    os.kill(_supervisor_pid(run), signal.SIGKILL)
    wait_for(lambda: run.get_status() == "Failed", timeout=STALE_SECONDS)
    folder = Path(run.workspace.artifacts.path_of(f"runs/{run.id}/outputs"))  # type: ignore[attr-defined]
    finished = [p for p in folder.glob("part*.bin")]
    assert len(finished) < 8, "the upload finished before the kill; the test proves nothing"
    for part in finished:
        assert part.stat().st_size == 48 * 1024 * 1024


def test_a_supervisor_that_never_starts_fails_the_run_with_what_it_said(
        workspace: Workspace, experiment: Experiment, source: Callable[..., Path]) -> None:
    import sqlalchemy as sa

    from runyard.store import _schema

    run = experiment.start_logging()
    crash = workspace.run_dir(run.id) / "supervisor.log"
    crash.parent.mkdir(parents=True)
    crash.write_text("ModuleNotFoundError: No module named 'runyard'\n")
    with workspace.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.update(_schema.runs).where(_schema.runs.c.id == run.id).values(
            config={"kind": "script"}, status="NotStarted",
            created_at=time.time() - STALE_SECONDS - 1))
    assert run.get_status() == "Failed"
    message = run.get_details()["error"]["error"]["message"]
    assert "never started" in message
    assert "No module named 'runyard'" in message
