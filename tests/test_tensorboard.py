"""TensorBoard over runs (`runyard.tensorboard`, v1's `azureml.tensorboard.Tensorboard`,
`runyard tensorboard RUN...`): a real TensorBoard process, queried over its HTTP API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import RunNotFoundError, ValidationError

pytest.importorskip("tensorboard")

from runyard.tensorboard import Tensorboard, export_to_tensorboard

from .conftest import wait_for

pytestmark = pytest.mark.slow

# logs `loss` with run.log; writes `acc` to TensorBoard event files itself, in ./outputs/tb
# and ./logs/tb, one step every 0.2 s until the file named by its argument exists
WRITER_SCRIPT = """
    import os, sys, time
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from runyard import Run
    run = Run.get_context()
    writers = [EventFileWriter(folder, flush_secs=1) for folder in ("outputs/tb", "logs/tb")]
    step = 0
    while step < 3 or (not os.path.exists(sys.argv[1]) and step < 500):
        run.log("loss", 1.0 / (step + 1))
        for writer in writers:
            value = summary_pb2.Summary.Value(tag="acc", simple_value=step / 100)
            writer.add_event(event_pb2.Event(wall_time=time.time(), step=step,
                                             summary=summary_pb2.Summary(value=[value])))
            writer.flush()
        step += 1
        time.sleep(0.2)
    for writer in writers:
        writer.close()
"""


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _tags(url: str) -> dict[str, list[str]]:
    return {run: sorted(tags) for run, tags in _get(url + "data/plugin/scalars/tags").items()}


def _scalars(url: str, run: str, tag: str) -> list[tuple[float, int, float]]:
    query = urllib.parse.urlencode({"run": run, "tag": tag})
    return [(w, s, v) for w, s, v in _get(url + f"data/plugin/scalars/scalars?{query}")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


def _finished_run(experiment: Experiment, source: Callable[..., Path]) -> Run:
    folder = source(textwrap.dedent("""
        from runyard import Run
        run = Run.get_context()
        for step in range(5):
            run.log("loss", 1.0 / (step + 1))
            run.log("lr", 0.1, step=step * 10)
        run.log("note", "text is not a scalar")
    """))
    run = experiment.submit(ScriptRunConfig(str(folder), "train.py"))
    run.wait_for_completion(timeout_seconds=60)
    return run


def test_an_exported_run_is_served_as_scalars_by_a_real_tensorboard(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    run = _finished_run(experiment, source)
    logdir = tmp_path / "tb"
    written = export_to_tensorboard(run, logdir)
    assert written is not None
    assert written.parent == logdir
    assert "tfevents" in written.name
    board = Tensorboard([], local_root=logdir, port=0)
    url = board.start()
    pid = board.pid
    assert pid is not None
    try:
        assert url.startswith("http://127.0.0.1:")
        assert wait_for(lambda: _tags(url).get(".") == ["loss", "lr"], timeout=30)
        loss = _scalars(url, ".", "loss")
        assert [(s, v) for _, s, v in loss] == [(i, pytest.approx(1.0 / (i + 1))) for i in range(5)]
        times = [row["time"] for row in run.workspace.store.get_metrics(run.id, "loss")]
        assert [w for w, _, _ in loss] == pytest.approx(times)
        assert [s for _, s, _ in _scalars(url, ".", "lr")] == [0, 10, 20, 30, 40]
    finally:
        board.stop()
    assert not _alive(pid)
    assert logdir.is_dir()  # a local_root given is kept
    assert board.pid is None


def test_tensorboard_follows_an_active_run_that_writes_event_files(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    gate = tmp_path / "go"
    folder = source(textwrap.dedent(WRITER_SCRIPT))
    run = experiment.submit(ScriptRunConfig(str(folder), "train.py", arguments=[str(gate)]))
    wait_for(lambda: run.get_status() == "Running", timeout=60)
    board = Tensorboard([run], port=0, metrics=True)
    url = board.start()
    root = board.local_root
    assert root is not None
    pid = board.pid
    assert pid is not None
    try:
        out_run, logs_run = f"{run.id}/outputs/tb", f"{run.id}/logs/tb"
        assert wait_for(lambda: {out_run, logs_run} <= set(_tags(url)), timeout=30)
        assert _tags(url)[out_run] == ["acc"]
        first = len(_scalars(url, out_run, "acc"))
        # it follows: TensorBoard sees the steps written after it started
        wait_for(lambda: len(_scalars(url, out_run, "acc")) >= first + 5, timeout=30)
        assert wait_for(lambda: len(_scalars(url, logs_run, "acc")) >= first + 5, timeout=30)
        # runyard's own metrics too, following as well
        wait_for(lambda: len(_scalars(url, f"{run.id}/runyard", "loss")) >= first + 5,
                 timeout=30)
        gate.touch()
        run.wait_for_completion(timeout_seconds=60)
        steps = len(run.get_metrics()["loss"])
        # after the end: every step, from the run's stored outputs/ as well
        wait_for(lambda: len(_scalars(url, out_run, "acc")) == steps, timeout=30)
        assert [s for _, s, _ in _scalars(url, out_run, "acc")] == list(range(steps))
        wait_for(lambda: len(_scalars(url, f"{run.id}/runyard", "loss")) == steps, timeout=30)
        wait_for(lambda: not board.following, timeout=30)
    finally:
        board.stop()
    assert not _alive(pid)
    assert not root.exists()  # the temporary local_root is removed


def test_bad_input_says_what_is_wrong(experiment: Experiment, workspace: Workspace,
                                      tmp_path: Path) -> None:
    run = experiment.start_logging()
    with pytest.raises(ValidationError, match="runs must be a list of runs"):
        Tensorboard(run)
    with pytest.raises(ValidationError, match="runyard Runs"):
        Tensorboard(["some-run-id"])
    with pytest.raises(ValidationError, match="no runs and no local_root"):
        Tensorboard([])
    with pytest.raises(ValidationError, match="port must be a number from 0 to 65535"):
        Tensorboard([run], port=70000)
    with pytest.raises(RunNotFoundError, match="nope"):
        Tensorboard([Run(experiment, "nope")])
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="is not a folder"):
        Tensorboard([run], local_root=tmp_path / "file")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        board = Tensorboard([run], local_root=tmp_path / "tb", port=port)
        with pytest.raises(ValidationError, match=f"port {port} on 127.0.0.1 is in use"):
            board.start()
        assert board.pid is None
    run.complete()


def _cli(workspace: Workspace, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "runyard.cli", "--workspace",
                             str(workspace.path), "tensorboard", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_the_cli_serves_the_runs_until_ctrl_c(
        experiment: Experiment, workspace: Workspace, source: Callable[..., Path],
        tmp_path: Path) -> None:
    run = _finished_run(experiment, source)
    process = _cli(workspace, run.id, "--port", "0", "--local-root", str(tmp_path / "tb"))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "TensorBoard for 1 run(s) at http://127.0.0.1:" in line, \
            line + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        url = line.split(" at ")[1].split()[0]
        assert wait_for(lambda: _tags(url).get(f"{run.id}/runyard") == ["loss", "lr"],
                        timeout=30)
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 1
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "TensorBoard stopped" in out
        assert not _alive(int(children[0]))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_cli_names_an_unknown_run(workspace: Workspace) -> None:
    process = _cli(workspace, "no-such-run", "--port", "0")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.startswith("error: ")
    assert "no-such-run" in err
    assert "Traceback" not in err


def test_importing_runyard_tensorboard_loads_no_tensorboard() -> None:
    code = ("import sys, runyard.tensorboard, runyard.azureml.tensorboard, runyard.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tensorboard'))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "[]"
