"""The `runyard` command line: each command against a real workspace and real runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from runyard import Experiment, Run, Workspace
from runyard.cli import cli

RUNYARD = Path(sys.executable).with_name("runyard")


def invoke(workspace: Workspace | None, *args: str, code: int = 0,
           env: dict[str, str] | None = None) -> Result:
    """Run the CLI in this process; check its exit code, show everything if it is wrong."""
    prefix = ["--workspace", str(workspace.path)] if workspace is not None else []
    result = CliRunner().invoke(cli, [*prefix, *args], env=env)
    assert result.exit_code == code, (
        f"exit {result.exit_code}, wanted {code}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}\nexception: {result.exception!r}")
    return result


def assert_one_line_error(result: Result, *fragments: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


def wait_until(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not met within {timeout} s"
        time.sleep(0.05)


def interactive_run(experiment: Experiment) -> Run:
    """A run this process logs to directly: fast, no supervisor."""
    return experiment.start_logging()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """An empty folder; any process still mentioning it at the end is killed."""
    folder = tmp_path / "project"
    folder.mkdir()
    yield folder
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                mentions = str(folder).encode() in handle.read()
        except OSError:
            continue
        if mentions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


# -- init and finding the workspace --------------------------------------------------------
def test_init_names_the_workspace_after_its_folder_sanitized(tmp_path: Path) -> None:
    folder = tmp_path / "my project!"
    result = invoke(None, "init", "--path", str(folder))
    assert Workspace.from_config(folder).name == "my-project"
    assert "created workspace 'my-project'" in result.stdout


def test_init_takes_an_explicit_name(tmp_path: Path) -> None:
    invoke(None, "init", "team-ws", "--path", str(tmp_path))
    assert Workspace.from_config(tmp_path).name == "team-ws"


def test_init_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    invoke(None, "init", "here")
    assert (tmp_path / ".runyard" / "config.json").is_file()


def test_init_over_a_workspace_needs_exist_ok(workspace: Workspace) -> None:
    result = invoke(None, "init", "--path", str(workspace.path), code=2)
    assert_one_line_error(result, "already exists", "--exist-ok")
    again = invoke(None, "init", "--path", str(workspace.path), "--exist-ok")
    assert "using existing workspace 'test'" in again.stdout


def test_init_rejects_a_bad_explicit_name(tmp_path: Path) -> None:
    result = invoke(None, "init", "bad name", "--path", str(tmp_path), code=2)
    assert_one_line_error(result, "'bad name'", "a space")


def test_commands_find_the_workspace_from_a_subfolder(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    (workspace.path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(workspace.path / "deep" / "er")
    result = invoke(None, "runs", "list")
    assert "no runs" in result.stderr


def test_workspace_comes_from_the_environment(workspace: Workspace, experiment: Experiment,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    run = interactive_run(experiment)
    monkeypatch.chdir(tmp_path)
    result = invoke(None, "runs", "list", env={"RUNYARD_WORKSPACE": str(workspace.path)})
    assert run.id in result.stdout


def test_no_workspace_is_a_one_line_error(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(None, "runs", "list", code=2)
    assert_one_line_error(result, "no workspace found", "runyard init")


@pytest.mark.parametrize(("content", "fragments"), [
    (b"[1, 2]", ["holds a JSON array, not an object"]),
    (b'"ws"', ["holds a JSON string, not an object"]),
    (b"\xff\xfe{}", ["cannot read workspace config", "not UTF-8 text"]),
    (b'{"name": "w", "store_url": 5}', ["'store_url' must be a string, got a JSON number"]),
    (b'{"artifact_url": ["file:///x"]}', ["'artifact_url' must be a string, got a JSON array"]),
    (b'{"name": {"a": 1}}', ["'name' must be a string, got a JSON object"]),
    (b"{not json", ["cannot read workspace config"]),
])
@pytest.mark.parametrize("command", [["runs", "list"], ["init", "--exist-ok"]])
def test_a_broken_config_is_a_one_line_error(workspace: Workspace, content: bytes,
                                            fragments: list[str], command: list[str]) -> None:
    config = workspace.path / ".runyard" / "config.json"
    config.write_bytes(content)
    result = invoke(workspace, *command, code=2)
    assert_one_line_error(result, str(config), *fragments)
    assert config.read_bytes() == content  # nothing rewritten


@pytest.mark.parametrize("command", [
    ["runs", "show"], ["logs"], ["metrics"], ["download"], ["cancel"],
])
def test_an_unknown_run_id_is_a_one_line_error(workspace: Workspace,
                                               command: list[str]) -> None:
    result = invoke(workspace, *command, "no-such-run", code=2)
    assert_one_line_error(result, "no run with id 'no-such-run'")


# -- submit --------------------------------------------------------------------------------
def test_submit_follows_the_run_and_passes_arguments_and_tags(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    folder = source("""
        import sys
        print("training with", sys.argv[1:])
    """)
    result = invoke(workspace, "submit", str(folder / "train.py"), "--experiment", "mnist",
                    "--tag", "team=vision", "--tag", "note=a=b", "--", "--epochs", "3")
    run_id = result.stdout.splitlines()[0]
    assert "training with ['--epochs', '3']" in result.stdout
    assert "Status: Completed" in result.stdout
    run = Run.get(workspace, run_id)
    assert run.experiment.name == "mnist"
    assert run.get_tags() == {"team": "vision", "note": "a=b"}


def test_submit_of_a_failing_script_exits_1(workspace: Workspace,
                                            source: Callable[..., Path]) -> None:
    folder = source("raise SystemExit('the data is gone')")
    result = invoke(workspace, "submit", str(folder / "train.py"), code=1)
    assert "Status: Failed" in result.stdout
    assert "the data is gone" in result.stdout
    run_id = result.stdout.splitlines()[0]
    assert Run.get(workspace, run_id).get_status() == "Failed"


def test_submit_no_wait_prints_only_the_run_id(workspace: Workspace,
                                               source: Callable[..., Path]) -> None:
    folder = source("print('quick')")
    result = invoke(workspace, "submit", "--no-wait", str(folder / "train.py"))
    run_id = result.stdout.strip()
    assert run_id.startswith("default_")
    assert "\n" not in run_id
    run = Run.get(workspace, run_id)
    run.wait_for_completion()


def test_submit_takes_the_script_relative_to_the_source_dir(
        workspace: Workspace, source: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = source("", helper="")
    (folder / "jobs").mkdir()
    (folder / "jobs" / "train.py").write_text("print('from jobs')\n")
    result = invoke(workspace, "submit", "jobs/train.py", "--source-dir", str(folder))
    assert "from jobs" in result.stdout
    monkeypatch.chdir(folder)
    run_id = invoke(workspace, "submit", "--no-wait", "jobs/train.py",
                    "--source-dir", ".").stdout.strip()
    details = Run.get(workspace, run_id).get_details()
    assert details["runDefinition"]["script"] == "jobs/train.py"
    assert details["runDefinition"]["snapshot"]["files"] == 3


def test_submit_of_a_missing_script_is_a_one_line_error(workspace: Workspace,
                                                        tmp_path: Path) -> None:
    result = invoke(workspace, "submit", str(tmp_path / "nope.py"), code=2)
    assert_one_line_error(result, "nope.py", "not found")
    assert not workspace.store.list_runs()


def test_submit_to_an_unknown_compute_is_a_one_line_error(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    folder = source("print('never')")
    result = invoke(workspace, "submit", str(folder / "train.py"), "--compute", "gpu-farm",
                    code=2)
    assert_one_line_error(result, "unknown compute target 'gpu-farm'", "local")


def test_submit_rejects_a_tag_without_equals(workspace: Workspace,
                                             source: Callable[..., Path]) -> None:
    folder = source("print('never')")
    result = invoke(workspace, "submit", str(folder / "train.py"), "--tag", "novalue", code=2)
    assert "KEY=VALUE" in result.stderr
    assert not workspace.store.list_runs()


def test_submit_rejects_a_bad_experiment_name(workspace: Workspace,
                                              source: Callable[..., Path]) -> None:
    folder = source("print('never')")
    result = invoke(workspace, "submit", str(folder / "train.py"), "--experiment", "a b",
                    code=2)
    assert_one_line_error(result, "experiment name 'a b'")


def test_ctrl_c_stops_following_but_not_the_run(workspace: Workspace,
                                                source: Callable[..., Path]) -> None:
    folder = source("""
        import time
        print("started", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen(
        [str(RUNYARD), "--workspace", str(workspace.path), "submit", str(folder / "train.py")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    run_id = process.stdout.readline().strip()
    while "started" not in process.stdout.readline():
        pass
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    process.stdout.close()
    assert process.returncode == 130
    assert f"runyard cancel {run_id}" in stderr
    assert "Traceback" not in stderr
    run = Run.get(workspace, run_id)
    assert run.get_status() == "Running"
    invoke(workspace, "cancel", "--wait", run_id)
    assert run.get_status() == "Canceled"


# -- runs list / show ----------------------------------------------------------------------
def listed_runs(workspace: Workspace, *options: str) -> list[list[str]]:
    """`runs list` as rows of [id, experiment, status]."""
    lines = invoke(workspace, "runs", "list", *options).stdout.splitlines()
    assert lines[0].split() == ["id", "experiment", "status", "started", "duration"]
    return [line.split()[:3] for line in lines[1:]]


def test_runs_list_shows_the_newest_runs_first(workspace: Workspace,
                                               experiment: Experiment) -> None:
    first = interactive_run(experiment)
    first.complete()
    second = interactive_run(Experiment(workspace, "other"))
    assert listed_runs(workspace) == [[second.id, "other", "Running"],
                                      [first.id, "tests", "Completed"]]
    assert listed_runs(workspace, "--limit", "1") == [[second.id, "other", "Running"]]


def test_runs_list_filters_by_experiment_and_status(workspace: Workspace,
                                                    experiment: Experiment) -> None:
    first = interactive_run(experiment)
    first.complete()
    second = interactive_run(Experiment(workspace, "other"))
    assert listed_runs(workspace, "--experiment", "other") == [[second.id, "other", "Running"]]
    assert listed_runs(workspace, "--status", "completed") == [[first.id, "tests", "Completed"]]


def test_runs_list_rejects_an_unknown_status(workspace: Workspace) -> None:
    result = invoke(workspace, "runs", "list", "--status", "Sleeping", code=2)
    assert "'Sleeping' is not one of" in result.stderr


def test_runs_list_marks_a_run_whose_supervisor_died_failed(workspace: Workspace) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    workspace.store.create_run("dead_1", "tests", compute_target="local",
                               config={"kind": "script"}, snapshot_id=None,
                               status="Running")
    workspace.store.claim_supervisor("dead_1", gone.pid, socket.gethostname())
    assert listed_runs(workspace) == [["dead_1", "tests", "Failed"]]
    assert "died" in workspace.store.get_run("dead_1")["error"]


def test_runs_show_has_status_error_tags_properties_stages_and_files(
        workspace: Workspace, experiment: Experiment, tmp_path: Path) -> None:
    run = interactive_run(experiment)
    run.set_tags({"team": "vision"})
    run.add_properties({"seed": "7"})
    (tmp_path / "model.bin").write_bytes(b"x" * 2048)
    run.upload_file("outputs/model.bin", tmp_path / "model.bin")
    run.fail("out of [memory]")
    shown = invoke(workspace, "runs", "show", run.id).stdout
    assert run.id in shown
    assert "Failed" in shown
    assert "out of [memory]" in shown
    assert "team=vision" in shown
    assert "seed=7" in shown
    stages = shown[shown.index("stages"):shown.index("files")]
    assert "Running" in stages
    assert "Failed" in stages
    assert "outputs/model.bin" in shown
    assert "2.0 KiB" in shown


# -- logs ----------------------------------------------------------------------------------
def test_logs_prints_the_scripts_output_not_the_supervisors(submit: Callable[..., Run],
                                                            workspace: Workspace) -> None:
    run = submit("print('line one')\nprint('line two')")
    run.wait_for_completion()
    result = invoke(workspace, "logs", run.id)
    assert result.stdout.splitlines() == ["line one", "line two"]
    everything = invoke(workspace, "logs", "--all", run.id).stdout
    assert "[driver_0] line one" in everything
    assert "[supervisor]" in everything


def test_logs_follow_streams_until_the_run_ends(submit: Callable[..., Run],
                                                workspace: Workspace) -> None:
    run = submit("""
        import time
        print("before", flush=True)
        time.sleep(1)
        print("after", end="")
    """)
    result = invoke(workspace, "logs", "--follow", run.id)
    assert run.get_status() == "Completed"
    assert result.stdout.splitlines() == ["before", "after"]


def test_ctrl_c_stops_logs_follow_and_says_the_run_goes_on(
        submit: Callable[..., Run], workspace: Workspace) -> None:
    run = submit("""
        import time
        print("started", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen(
        [str(RUNYARD), "--workspace", str(workspace.path), "logs", "--follow", run.id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    process.stdout.close()
    assert process.returncode == 130
    assert f"stopped following run {run.id}; it goes on" in stderr
    assert f"runyard cancel {run.id}" in stderr
    assert "Traceback" not in stderr
    assert run.get_status() == "Running"
    invoke(workspace, "cancel", "--wait", run.id)
    assert run.get_status() == "Canceled"


def _write_logs(run: Run, logs: dict[str, str]) -> None:
    """Log files where a run's supervisor writes them while it runs."""
    folder = run.workspace.run_dir(run.id) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in logs.items():
        (folder / name).write_text(text)


SEVERAL_LOGS = {"environment.txt": "installing six\n", "worker_0.txt": "w0 a\nw0 last",
                "worker_1.txt": "w1 a\n", "supervisor.txt": "starting\n",
                "plot.png": "not text\n"}
SEVERAL_LINES = ["[environment] installing six", "[worker_0] w0 a", "[worker_1] w1 a",
                 "[worker_0] w0 last"]


def test_logs_prints_as_the_run_is_followed_by_submit(
        workspace: Workspace, experiment: Experiment,
        capsys: pytest.CaptureFixture[str]) -> None:
    """One printer (runyard._follow.Follower) for `runyard logs` and for following a run:
    the build log first, labelled; several processes labelled, their last unterminated
    line too; no supervisor log, no files that are not text."""
    run = interactive_run(experiment)
    _write_logs(run, SEVERAL_LOGS)
    assert invoke(workspace, "logs", run.id).stdout.splitlines() == SEVERAL_LINES
    run.complete()
    capsys.readouterr()
    run.wait_for_completion(show_output=True)
    shown = capsys.readouterr().out.splitlines()
    assert [line for line in shown if line in SEVERAL_LINES] == SEVERAL_LINES
    assert not any("starting" in line or "not text" in line for line in shown)


def test_logs_all_adds_the_supervisors_log(workspace: Workspace,
                                           experiment: Experiment) -> None:
    run = interactive_run(experiment)
    _write_logs(run, SEVERAL_LOGS)
    printed = invoke(workspace, "logs", "--all", run.id).stdout.splitlines()
    assert printed == ["[environment] installing six", "[supervisor] starting",
                       "[worker_0] w0 a", "[worker_1] w1 a", "[worker_0] w0 last"]


def test_logs_of_a_run_without_logs_says_so(workspace: Workspace,
                                            experiment: Experiment) -> None:
    run = interactive_run(experiment)
    result = invoke(workspace, "logs", run.id)
    assert result.stdout == ""
    assert "no logs" in result.stderr


# -- metrics -------------------------------------------------------------------------------
def test_metrics_table_has_last_value_and_count(workspace: Workspace,
                                                experiment: Experiment) -> None:
    run = interactive_run(experiment)
    for loss in (0.9, 0.5, 0.25):
        run.log("loss", loss)
    run.log("optimizer", "adam")
    run.log_row("eval", epoch=1, accuracy=0.75)
    rows = [line.split() for line in invoke(workspace, "metrics", run.id).stdout.splitlines()]
    assert rows[0] == ["name", "last", "count"]
    assert ["loss", "0.25", "3"] in rows
    assert ["optimizer", "adam", "1"] in rows
    assert ["eval", "epoch=1,", "accuracy=0.75", "1"] in rows


def test_metrics_table_shows_a_logged_list_as_the_list(workspace: Workspace,
                                                       experiment: Experiment) -> None:
    run = interactive_run(experiment)
    run.log_list("layer_sizes", [300, 100])
    run.log_list("lr_schedule", [0.1, 0.01])
    run.log_list("lr_schedule", [0.05, 0.005, 0.0005])
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    lines = invoke(workspace, "metrics", run.id).stdout.splitlines()
    rows = {line.split()[0]: line.split(None, 1)[1].rsplit(None, 1) for line in lines[1:]}
    assert rows["layer_sizes"] == ["[300, 100]", "1"]
    assert rows["lr_schedule"] == ["[0.05, 0.005, 0.0005]", "2"]
    assert rows["loss"] == ["0.25", "2"]


def test_metrics_json_is_the_azure_shaped_dict(workspace: Workspace,
                                               experiment: Experiment) -> None:
    run = interactive_run(experiment)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.log("lr", 0.1)
    run.log("broken", float("nan"))
    printed = json.loads(invoke(workspace, "metrics", "--json", run.id).stdout)
    assert printed == {"loss": [0.5, 0.25], "lr": 0.1, "broken": None}
    only = json.loads(invoke(workspace, "metrics", "--json", "--name", "lr", run.id).stdout)
    assert only == {"lr": 0.1}


def test_metrics_of_an_unknown_name_is_a_one_line_error(workspace: Workspace,
                                                        experiment: Experiment) -> None:
    run = interactive_run(experiment)
    run.log("loss", 0.5)
    result = invoke(workspace, "metrics", "--name", "acc", run.id, code=2)
    assert_one_line_error(result, "no metric 'acc'", "loss")


# -- download ------------------------------------------------------------------------------
def test_download_writes_the_files_and_refuses_to_overwrite(
        workspace: Workspace, experiment: Experiment, tmp_path: Path) -> None:
    run = interactive_run(experiment)
    (tmp_path / "m.txt").write_text("weights")
    run.upload_file("outputs/model/m.txt", tmp_path / "m.txt")
    run.upload_file("logs/extra.txt", tmp_path / "m.txt")
    target = tmp_path / "out"
    result = invoke(workspace, "download", run.id, "--prefix", "outputs/",
                    "--output", str(target))
    assert result.stdout.splitlines() == [str(target / "outputs/model/m.txt")]
    assert (target / "outputs/model/m.txt").read_text() == "weights"
    assert not (target / "logs").exists()

    again = invoke(workspace, "download", run.id, "--output", str(target), code=2)
    assert_one_line_error(again, "already exist", "--overwrite")
    assert not (target / "logs").exists()  # nothing written when anything is in the way
    invoke(workspace, "download", run.id, "--output", str(target), "--overwrite")
    assert (target / "logs/extra.txt").read_text() == "weights"


# -- cancel --------------------------------------------------------------------------------
def test_cancel_wait_ends_a_running_run_canceled(submit: Callable[..., Run],
                                                 workspace: Workspace) -> None:
    run = submit("import time\ntime.sleep(60)")
    wait_until(lambda: run.get_status() == "Running")
    result = invoke(workspace, "cancel", "--wait", run.id)
    assert f"run {run.id} ended Canceled" in result.stdout
    assert run.get_status() == "Canceled"


@pytest.mark.slow
def test_ctrl_c_stops_cancel_wait_and_says_the_cancel_stands(submit: Callable[..., Run],
                                                             workspace: Workspace) -> None:
    run = submit("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # so the cancel takes its 3 s
        print("started", flush=True)
        time.sleep(60)
    """)
    wait_until(lambda: b"started" in run.read_log("logs/driver_0.txt", 0))
    process = subprocess.Popen(
        [str(RUNYARD), "--workspace", str(workspace.path), "cancel", "--wait", run.id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == f"cancel requested for run {run.id}"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    process.stdout.close()
    assert process.returncode == 130, stderr
    assert f"stopped waiting for run {run.id}; its cancel request stands" in stderr
    assert "Traceback" not in stderr
    run.wait_for_completion(raise_on_error=False)
    assert run.get_status() == "Canceled"


def test_cancel_of_an_ended_run_says_so(workspace: Workspace,
                                        experiment: Experiment) -> None:
    run = interactive_run(experiment)
    run.complete()
    result = invoke(workspace, "cancel", run.id)
    assert "ended already: Completed" in result.stdout


# -- the package ---------------------------------------------------------------------------
def test_importing_the_cli_loads_no_sqlalchemy() -> None:
    code = "import sys, runyard.cli; print('sqlalchemy' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == "False"


@pytest.mark.parametrize("module", ["state", "util", "runs", "compute", "data", "env",
                                    "models", "__main__"])
def test_each_cli_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """No import cycle goes through the root group: any module of the package can be
    the first one imported (`__main__` only as a name: importing it would run the CLI)."""
    name = "runyard.cli" if module == "__main__" else f"runyard.cli.{module}"
    code = f"import {name}, runyard.cli; print(sorted(runyard.cli.cli.commands))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert "submit" in found.stdout
    assert "models" in found.stdout


def test_the_root_group_is_the_commands_listed_in_one_place() -> None:
    from runyard.cli import COMMANDS

    assert sorted(cli.commands) == sorted(command.name for command in COMMANDS)
    assert {"init", "submit", "runs", "logs", "metrics", "download", "cancel", "compute",
            "datastore", "env", "models"} <= set(cli.commands)


def test_python_dash_m_runyard_cli_is_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "runyard.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("runyard, version ")


@pytest.mark.slow
def test_console_script_end_to_end(project: Path) -> None:
    def runyard(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(RUNYARD), *args], cwd=project, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == code, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    runyard("init")
    (project / "train").mkdir()
    (project / "train" / "train.py").write_text(textwrap.dedent("""
        import sys
        from runyard import Run

        run = Run.get_context()
        run.log("accuracy", 0.875)
        print("hello from the script", sys.argv[1:])
        with open("outputs/model.txt", "w") as handle:
            handle.write("weights")
    """))
    submitted = runyard("submit", "train/train.py", "--experiment", "e2e", "--", "--lr", "0.1")
    run_id = submitted.stdout.splitlines()[0]
    assert "hello from the script ['--lr', '0.1']" in submitted.stdout

    listed = runyard("runs", "list").stdout
    assert run_id in listed
    assert "e2e" in listed
    assert "Completed" in listed
    assert "0.875" in runyard("metrics", run_id).stdout
    assert "hello from the script" in runyard("logs", run_id).stdout
    downloaded = runyard("download", run_id, "--prefix", "outputs", "--output", "got")
    assert (project / "got" / "outputs" / "model.txt").read_text() == "weights"
    assert "model.txt" in downloaded.stdout

    missing = runyard("runs", "show", "not-a-run", code=2)
    assert missing.stderr.strip() == (f"error: no run with id 'not-a-run' in sqlite:///"
                                      f"{project}/.runyard/runyard.db")


def test_compute_list_shows_the_local_compute_and_its_settings(workspace: Workspace) -> None:
    result = invoke(workspace, "compute", "list")
    assert result.exit_code == 0
    assert "local" in result.stdout
    assert "max_concurrent_runs" in result.stdout


@pytest.mark.parametrize(("options", "message"), [
    (["--max-nodes", "0"], "--max-nodes must be at least 1, got 0"),
    (["--min-nodes", "5", "--max-nodes", "4"], "--min-nodes (5) is more than --max-nodes (4)"),
    (["--cpus", "0"], "a node needs at least 1 CPU (--cpus)"),
    (["--gpus", "-1"], "--gpus must be a number ≥ 0, got -1.0"),
    (["--address", "head:8265"], "--address must be the Ray dashboard's URL"),
    (["--idle-seconds-before-scaledown", "-1"],
     "--idle-seconds-before-scaledown must be a whole number ≥ 0, got -1"),
    (["--vm-size", "STANDARD_Z9"], "unknown --vm-size 'STANDARD_Z9'; runyard knows "),
    (["--vm-size", "STANDARD_Z9"], "or give the node's resources instead: --cpus 4 --gpus 0 "
                                   "--memory-gib 16"),
])
def test_compute_create_errors_name_the_options(workspace: Workspace, options: list[str],
                                                message: str) -> None:
    result = invoke(workspace, "compute", "create", "cluster", *options, code=2)
    assert_one_line_error(result, message)
    assert "_nodes" not in result.stderr
    assert "node_resources" not in result.stderr
    assert [target.name for target in workspace.compute_targets.values()] == ["local"]
