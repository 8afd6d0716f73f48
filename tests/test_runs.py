"""Runs on this machine, end to end: real supervisor, real script process, real store."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import FileExistsNoOverwriteError, RunFailedError

from .conftest import wait_for

SCRIPT = """
    import os, sys
    from runyard import Run
    run = Run.get_context()
    print("started with", sys.argv[1:], flush=True)
    for step in range(100):
        run.log("loss", 1.0 / (step + 1), step=step)
    run.log("accuracy", 0.93)
    run.log("note", "converged")
    run.log_list("layers", [300, 100])
    run.log_row("curve", epoch=1, acc=0.5)
    run.log_row("curve", epoch=2, acc=0.7)
    run.log_table("table", {"a": [1, 2], "b": [3, 4]})
    run.tag("phase", "train")
    run.add_properties({"seed": 42})
    child = run.child_run("fold-0")
    child.log("fold_acc", 0.8)
    child.complete()
    os.makedirs("outputs/model", exist_ok=True)
    with open("outputs/model/weights.txt", "w") as handle:
        handle.write("w" * 1000)
    with open("scratch.txt", "w") as handle:
        handle.write("not an output")
    run.upload_file("extra/notes.txt", __file__)
    print("finished", os.environ["RANK"], os.environ["WORLD_SIZE"])
"""


def test_a_run_goes_through_its_lifecycle_and_keeps_what_it_logged(
        submit: Callable[..., Run]) -> None:
    run = submit(SCRIPT, arguments=["--epochs", "3"])
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    assert [s["status"] for s in details["stages"]] == [
        "NotStarted", "Preparing", "Queued", "Starting", "Running", "Finalizing", "Completed"]
    assert all(s["durationSeconds"] is not None for s in details["stages"][:-1])
    metrics = run.get_metrics()
    assert metrics["loss"] == [1.0 / (s + 1) for s in range(100)]
    assert metrics["accuracy"] == 0.93
    assert metrics["note"] == "converged"
    assert metrics["layers"] == [300, 100]
    assert metrics["curve"] == {"epoch": [1, 2], "acc": [0.5, 0.7]}
    assert metrics["table"] == {"a": [1, 2], "b": [3, 4]}
    assert run.get_metrics("accuracy") == {"accuracy": 0.93}
    assert run.get_tags() == {"phase": "train"}
    assert run.get_properties() == {"seed": "42"}
    files = run.get_file_names()
    assert "outputs/model/weights.txt" in files
    assert "extra/notes.txt" in files
    assert "logs/driver_0.txt" in files
    assert not any("scratch" in f for f in files)
    children = list(run.get_children())
    assert [c.display_name for c in children] == ["fold-0"]
    assert children[0].get_metrics() == {"fold_acc": 0.8}
    assert children[0].get_status() == "Completed"
    log = run.read_log("logs/driver_0.txt").decode()
    assert "started with ['--epochs', '3']" in log
    assert "finished 0 1" in log


def test_submit_returns_in_well_under_a_second(experiment: Experiment,
                                               source: Callable[..., Path]) -> None:
    folder = source("print('hi')\n")
    experiment.submit(ScriptRunConfig(folder, "train.py"))  # warm: imports, first snapshot
    started = time.perf_counter()
    run = experiment.submit(ScriptRunConfig(folder, "train.py"))
    assert time.perf_counter() - started < 0.5
    run.wait_for_completion()


def test_show_output_streams_stages_and_lines(submit: Callable[..., Run],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    run = submit("print('line one')\nprint('line two')\n")
    run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    assert out.index("[Preparing]") < out.index("[Running]") < out.index("line one") \
        < out.index("line two") < out.index("Status: Completed")


def test_a_failing_script_fails_the_run_with_the_reason_and_the_last_lines(
        submit: Callable[..., Run]) -> None:
    run = submit("""
        from runyard import Run
        run = Run.get_context()
        run.log("before_crash", 1.0)
        print("about to fail")
        raise ValueError("bad learning rate")
    """)
    with pytest.raises(RunFailedError) as caught:
        run.wait_for_completion()
    assert "exited with code 1" in str(caught.value)
    assert "ValueError: bad learning rate" in str(caught.value)
    assert "about to fail" in "\n".join(caught.value.log_tail)  # type: ignore[attr-defined]
    assert run.get_status() == "Failed"
    # logged before the exception: kept
    assert run.get_metrics() == {"before_crash": 1.0}
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Failed"


def test_edits_after_submit_do_not_change_the_run(experiment: Experiment,
                                                  source: Callable[..., Path]) -> None:
    folder = source("import time\ntime.sleep(0.5)\nprint(open('data.txt').read())\n",
                    **{"data.txt": "original"})
    run = experiment.submit(ScriptRunConfig(folder, "train.py"))
    (folder / "data.txt").write_text("edited")
    run.wait_for_completion()
    assert "original" in run.read_log("logs/driver_0.txt").decode()


def test_downloads(submit: Callable[..., Run], tmp_path: Path) -> None:
    run = submit("""
        import os
        os.makedirs("outputs/model", exist_ok=True)
        open("outputs/model/a.txt", "w").write("A")
        open("outputs/model/b.txt", "w").write("B")
        open("outputs/metrics.json", "w").write("{}")
    """)
    run.wait_for_completion()
    target = tmp_path / "dl"
    written = run.download_files(prefix="outputs/model", output_directory=target)
    assert sorted(Path(p).relative_to(target).as_posix() for p in written) == [
        "outputs/model/a.txt", "outputs/model/b.txt"]
    flat = run.download_files(prefix="outputs/model/", output_directory=tmp_path / "flat",
                              append_prefix=False)
    assert sorted(Path(p).name for p in flat) == ["a.txt", "b.txt"]
    one = run.download_file("outputs/model/a.txt", tmp_path / "a.txt")
    assert Path(one).read_text() == "A"
    with pytest.raises(FileExistsNoOverwriteError, match="overwrite=True"):
        run.download_file("outputs/model/a.txt", tmp_path / "a.txt")
    with pytest.raises(FileExistsNoOverwriteError):
        run.download_files(prefix="outputs/model", output_directory=target)
    run.download_file("outputs/model/b.txt", tmp_path / "a.txt", overwrite=True)
    assert (tmp_path / "a.txt").read_text() == "B"


def test_client_side_upload_and_interactive_runs(experiment: Experiment,
                                                 tmp_path: Path) -> None:
    run = experiment.start_logging(display_name="notebook")
    run.log("x", 1)
    run.log("x", 2)
    (tmp_path / "f.txt").write_text("hello")
    run.upload_file("notes/f.txt", str(tmp_path / "f.txt"))
    run.complete()
    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"x": [1.0, 2.0]}
    assert run.get_file_names() == ["notes/f.txt"]


def test_runs_are_listed_newest_first_and_found_by_id(experiment: Experiment,
                                                      workspace: Workspace) -> None:
    first = experiment.start_logging()
    second = experiment.start_logging()
    assert [r.id for r in experiment.get_runs()] == [second.id, first.id]
    assert Run.get(workspace, first.id).number == 1
    assert [e.name for e in Experiment.list(workspace)] == ["tests"]


def test_max_concurrent_runs_queues_the_rest(workspace: Workspace, experiment: Experiment,
                                             source: Callable[..., Path],
                                             tmp_path: Path) -> None:
    from runyard.compute import get_compute_target

    local = get_compute_target(workspace, "local")
    local.update(max_concurrent_runs=1)  # type: ignore[attr-defined]
    gate = tmp_path / "gate"
    folder = source(f"""
        import os, time
        while not os.path.exists({str(gate)!r}):
            time.sleep(0.05)
    """)
    first = experiment.submit(ScriptRunConfig(folder, "train.py"))
    wait_for(lambda: first.get_status() == "Running")
    second = experiment.submit(ScriptRunConfig(folder, "train.py"))
    wait_for(lambda: second.get_status() == "Queued")
    time.sleep(1)
    assert second.get_status() == "Queued"
    gate.touch()
    assert first.wait_for_completion()["status"] == "Completed"
    assert second.wait_for_completion()["status"] == "Completed"


def test_max_run_duration_fails_a_run_that_runs_too_long(submit: Callable[..., Run]) -> None:
    run = submit("import time\ntime.sleep(60)\n", max_run_duration_seconds=1)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert "max_run_duration_seconds=1" in details["error"]["error"]["message"]


def test_environment_variables_reach_the_script(experiment: Experiment,
                                                source: Callable[..., Path]) -> None:
    folder = source("import os\nprint('value', os.environ['MY_SETTING'])\n")
    run = experiment.submit(ScriptRunConfig(folder, "train.py",
                                            environment_variables={"MY_SETTING": "42"}))
    run.wait_for_completion()
    assert "value 42" in run.read_log("logs/driver_0.txt").decode()


@pytest.mark.slow
def test_a_run_outlives_the_process_that_submitted_it(workspace: Workspace,
                                                      source: Callable[..., Path]) -> None:
    folder = source("""
        import time
        from runyard import Run
        time.sleep(2)
        Run.get_context().log("survived", 1)
    """)
    code = (
        "import sys\n"
        "from runyard import Workspace, Experiment, ScriptRunConfig\n"
        f"ws = Workspace.from_config({str(workspace.path)!r})\n"
        f"run = Experiment(ws, 'detached').submit(ScriptRunConfig({str(folder)!r}, 'train.py'))\n"
        "print(run.id)\n"
    )
    submitter = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, timeout=60)
    run = Run.get(workspace, submitter.stdout.strip())
    assert run.get_status() != "Completed"  # the submitter is gone; the run goes on
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    assert run.get_metrics() == {"survived": 1.0}


def test_images_and_forked_children_reach_the_run(submit: Callable[..., Run]) -> None:
    run = submit("""
        import os, struct, zlib
        from runyard import Run
        run = Run.get_context()
        png = b"\\x89PNG\\r\\n\\x1a\\n" + b"fake image body"
        with open("plot.png", "wb") as handle:
            handle.write(png)
        run.log_image("confusion", path="plot.png")
        pid = os.fork()
        if pid == 0:
            run.log("from_child", 2.0)
            run.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        run.log("from_parent", 1.0)
    """)
    run.wait_for_completion()
    metrics = run.get_metrics()
    assert metrics["confusion"] == "images/confusion.png"
    assert metrics["from_child"] == 2.0
    assert metrics["from_parent"] == 1.0
    assert "images/confusion.png" in run.get_file_names()


def test_a_prefix_with_a_slash_matches_only_that_folder(experiment: Experiment,
                                                        tmp_path: Path) -> None:
    import io

    run = experiment.start_logging()
    run.upload_file("logs/a.txt", io.BytesIO(b"a"))
    run.upload_file("logsbackup/b.txt", io.BytesIO(b"b"))
    written = run.download_files(prefix="logs/", output_directory=tmp_path)
    assert [Path(p).relative_to(tmp_path).as_posix() for p in written] == ["logs/a.txt"]
    assert len(run.download_files(prefix="logs", output_directory=tmp_path / "all")) == 2
