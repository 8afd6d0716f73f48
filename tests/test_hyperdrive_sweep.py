"""HyperDrive sweeps end to end: a parent run whose supervisor drives real child runs of
small scripts on the local compute, the real SQLite store, the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import RunyardError
from runyard.hyperdrive import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    uniform,
)
from runyard.hyperdrive.run import HyperDriveRun

from .conftest import _processes_mentioning, wait_for

pytestmark = pytest.mark.slow

# logs `acc` = lr * n * step for 5 steps: the best child has the largest lr * n
GRID_SCRIPT = """
    import argparse
    from runyard import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    assert args.epochs == 5, args
    run = Run.get_context()
    for step in range(1, args.epochs + 1):
        run.log("acc", args.lr * args.n * step)
"""

# a curve given by its argument: "good" logs 0.9 fast and ends, "bad" logs 0.1 slowly
CURVE_SCRIPT = """
    import argparse, time
    from runyard import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--curve")
    args = parser.parse_args()
    run = Run.get_context()
    if args.curve == "good":
        for _ in range(4):
            run.log("acc", 0.9)
    else:
        time.sleep(1.0)
        for _ in range(60):
            run.log("acc", 0.1)
            time.sleep(0.25)
"""

SLOW_SCRIPT = """
    import time
    from runyard import Run
    run = Run.get_context()
    for step in range(600):
        run.log("acc", step)
        time.sleep(0.1)
"""


def _write(folder: Path, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(code))
    return folder


def _config(source: Path, sampling: object, **settings: object) -> HyperDriveConfig:
    defaults: dict[str, object] = {"primary_metric_name": "acc",
                                   "primary_metric_goal": PrimaryMetricGoal.MAXIMIZE,
                                   "max_total_runs": 4, "max_concurrent_runs": 2}
    defaults.update(settings)
    return HyperDriveConfig(run_config=ScriptRunConfig(str(source), "train.py"),
                            hyperparameter_sampling=sampling, **defaults)  # type: ignore[arg-type]


def _kill_all(ws: Workspace) -> None:
    for pid in _processes_mentioning(str(ws.path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HyperDriveRun]:
    """A finished grid sweep of 6 points (lr × n), 2 at a time, max_total_runs 10."""
    root = tmp_path_factory.mktemp("grid")
    ws = Workspace.create("grid", path=root / "ws")
    source = _write(root / "src", GRID_SCRIPT)
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(source), "train.py", arguments=["--epochs", 5]),
        hyperparameter_sampling=GridParameterSampling(
            {"--lr": choice(0.1, 0.2, 0.3), "n": choice(1, 2)}),
        primary_metric_name="acc", primary_metric_goal="maximize",
        max_total_runs=10, max_concurrent_runs=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)   # as every test: its processes start in a folder of its own
        run = Experiment(ws, "grid").submit(config)
    try:
        run.wait_for_completion(timeout_seconds=120)
        yield run
    finally:
        _kill_all(ws)


# -- the sweep ------------------------------------------------------------------------------
def test_submit_returns_a_hyperdrive_run_at_once(workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", SLOW_SCRIPT)
    started = time.monotonic()
    run = Experiment(workspace, "hd").submit(
        _config(source, GridParameterSampling({"--x": choice(1, 2)}), max_total_runs=2))
    assert time.monotonic() - started < 2.0
    assert isinstance(run, HyperDriveRun)
    assert run.type == "hyperdrive"
    assert run.get_status() in ("NotStarted", "Preparing", "Running")
    run.cancel()
    run.wait_for_completion(timeout_seconds=60)


def test_a_grid_sweep_runs_every_point_once_with_its_hyperparameters(
        grid_sweep: HyperDriveRun) -> None:
    assert grid_sweep.get_status() == "Completed"
    children = list(grid_sweep.get_children())
    # the grid (6 points) is smaller than max_total_runs (10): 6 children
    assert sorted(c.id for c in children) == [f"{grid_sweep.id}_{n}" for n in range(6)]
    points = {(h["--lr"], h["n"]) for h in (c.get_hyperparameters() for c in children)}
    assert points == {(lr, n) for lr in (0.1, 0.2, 0.3) for n in (1, 2)}
    on_parent = grid_sweep.get_hyperparameters()
    assert set(on_parent) == {c.id for c in children}
    for child in children:
        assert json.loads(on_parent[child.id]) == child.get_hyperparameters()
        assert child.get_status() == "Completed"
        hp = child.get_hyperparameters()
        # the hyperparameters were the script's arguments, after the run_config's own
        arguments = child.get_details()["runDefinition"]["arguments"]
        assert arguments == ["--epochs", "5", "--lr", str(hp["--lr"]), "--n", str(hp["n"])]
        assert child.get_metrics()["acc"][-1] == pytest.approx(hp["--lr"] * hp["n"] * 5)


def test_a_sweep_never_runs_more_children_at_once_than_max_concurrent_runs(
        grid_sweep: HyperDriveRun) -> None:
    store = grid_sweep.workspace.store
    spans = []
    for child in grid_sweep.get_children():
        row = store.get_run(child.id)
        spans.append((row["created_at"], row["end_time"]))
    for start, _ in spans:
        running = sum(1 for s, e in spans if s <= start < e)
        assert running <= 2, spans


def test_results_are_in_v1_shape_best_first(grid_sweep: HyperDriveRun) -> None:
    ranked = grid_sweep.get_children_sorted_by_primary_metric()
    assert [set(c) for c in ranked] == [
        {"run_id", "hyperparameters", "best_primary_metric", "status"}] * 6
    values = [c["best_primary_metric"] for c in ranked]
    assert values == sorted(values, reverse=True)
    assert values[0] == pytest.approx(0.3 * 2 * 5)
    assert json.loads(ranked[0]["hyperparameters"]) == {"--lr": 0.3, "n": 2}
    assert [c["run_id"] for c in grid_sweep.get_children_sorted_by_primary_metric(top=2)] == \
        [c["run_id"] for c in ranked[:2]]
    worst_first = grid_sweep.get_children_sorted_by_primary_metric(reverse=True)
    assert [c["best_primary_metric"] for c in worst_first] == values[::-1]

    best = grid_sweep.get_best_run_by_primary_metric()
    assert best is not None
    assert best.id == ranked[0]["run_id"]
    assert grid_sweep.get_tags()["best_child_run_id"] == best.id
    table = grid_sweep.get_metrics()["best_child_by_primary_metric"]
    assert set(table) == {"metric_name", "timestamp", "run_id", "metric_value", "final"}
    assert table["run_id"][-1] == best.id
    assert table["final"][-1]
    assert table["metric_value"][-1] == pytest.approx(3.0)
    assert not any(table["final"][:-1])


def test_run_and_get_runs_give_a_sweep_back_as_a_hyperdrive_run(
        grid_sweep: HyperDriveRun) -> None:
    experiment = grid_sweep.experiment
    again = Run(experiment, grid_sweep.id)
    assert isinstance(again, HyperDriveRun)
    assert again.hyperdrive_config.primary_metric_name == "acc"
    assert again.hyperdrive_config.max_concurrent_runs == 2
    listed = [r for r in experiment.get_runs() if r.id == grid_sweep.id]
    assert len(listed) == 1
    assert isinstance(listed[0], HyperDriveRun)
    child = Run(experiment, f"{grid_sweep.id}_0")
    assert type(child) is Run
    assert child.parent is not None
    assert child.parent.id == grid_sweep.id


def test_wait_for_completion_shows_each_childs_start_progress_and_end(
        grid_sweep: HyperDriveRun, capsys: pytest.CaptureFixture[str]) -> None:
    grid_sweep.wait_for_completion(show_output=True)
    shown = capsys.readouterr().out
    first = f"{grid_sweep.id}_0"
    assert f"{first} started with" in shown
    assert f"{first}: acc = " in shown
    assert "(interval 5)" in shown
    assert f"{first} Completed" in shown
    assert f"sweep {grid_sweep.id}: Completed" in shown


def test_bandit_cancels_a_bad_child_and_records_the_numbers(
        workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", CURVE_SCRIPT)
    run = Experiment(workspace, "hd").submit(_config(
        source, GridParameterSampling({"--curve": choice("good", "bad")}),
        policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1), max_total_runs=2))
    run.wait_for_completion(timeout_seconds=90)
    assert run.get_status() == "Completed"
    good, bad = (next(c for c in run.get_children() if c.get_hyperparameters()["--curve"] == k)
                 for k in ("good", "bad"))
    assert good.get_status() == "Completed"
    assert bad.get_status() == "Canceled"
    decision = json.loads(bad.get_properties()["early_termination_decision"])
    assert decision["policy"] == "Bandit"
    assert decision["cancel"] is True
    assert decision["value"] == pytest.approx(0.1)
    assert decision["best"] == pytest.approx(0.9)
    assert decision["threshold"] == pytest.approx(0.9 / 1.1)
    assert decision["interval"] >= 1
    reason = bad.get_tags()["early_termination"]
    assert reason.startswith(f"Bandit policy at interval {decision['interval']}: canceled")
    assert "0.818182" in reason
    assert "0.9" in reason
    assert len(workspace.store.get_metrics(bad.id, "acc")) < 60
    log = run.read_log("logs/hyperdrive.txt").decode()
    assert f"{bad.id} stopped early: Bandit policy" in log
    saved = run.get_tags()["compute_seconds_saved"]
    assert float(saved) >= 0
    assert run.get_properties()["children_stopped_early"] == "1"
    assert run.get_best_run_by_primary_metric() == good


def test_canceling_the_sweep_cancels_every_child(workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", SLOW_SCRIPT)
    run = Experiment(workspace, "hd").submit(
        _config(source, GridParameterSampling({"--x": choice(1, 2, 3, 4)})))
    deadline = time.monotonic() + 60
    while sum(c.get_status() == "Running" for c in run.get_children()) < 2:
        assert time.monotonic() < deadline, run.read_log("logs/hyperdrive.txt")
        time.sleep(0.1)
    run.cancel()
    run.wait_for_completion(timeout_seconds=60)
    assert run.get_status() == "Canceled"
    children = list(run.get_children())
    assert len(children) == 2   # no child starts once the sweep is canceled
    assert {c.get_status() for c in children} == {"Canceled"}
    deadline = time.monotonic() + 30
    while any(child.id.encode() in _cmdlines() for child in children):
        assert time.monotonic() < deadline, "a child's process outlived the sweep's cancel"
        time.sleep(0.1)


def test_a_sweep_whose_driver_dies_fails_and_cancels_its_children(
        workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", SLOW_SCRIPT)
    run = Experiment(workspace, "hd").submit(
        _config(source, GridParameterSampling({"--x": choice(1, 2, 3, 4)})))
    deadline = time.monotonic() + 60
    while sum(c.get_status() == "Running" for c in run.get_children()) < 2:
        assert time.monotonic() < deadline, run.read_log("logs/hyperdrive.txt")
        time.sleep(0.1)
    os.kill(workspace.store.get_run(run.id)["supervisor_pid"], signal.SIGKILL)
    run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert run.get_status() == "Failed"
    assert "was killed by SIGKILL" in (workspace.store.get_run(run.id)["error"] or "")
    children = list(run.get_children())
    assert len(children) == 2
    for child in children:
        wait_for(lambda c=child: c.get_status() == "Canceled", timeout=60)  # type: ignore[misc]
        assert "driver died" in child.get_tags()["canceled_by_sweep"]


def _cmdlines() -> bytes:
    found = b""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as handle:
                found += handle.read() + b"\n"
    return found


def test_a_failing_child_does_not_stop_the_sweep(workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", """
        import argparse
        from runyard import Run
        parser = argparse.ArgumentParser()
        parser.add_argument("--x", type=int)
        x = parser.parse_args().x
        Run.get_context().log("acc", x)
        if x == 3:
            raise SystemExit("x=3 fails on purpose")
    """)
    run = Experiment(workspace, "hd").submit(
        _config(source, GridParameterSampling({"--x": choice(1, 3, 2)}), max_total_runs=3))
    run.wait_for_completion(timeout_seconds=90)
    assert run.get_status() == "Completed"
    statuses = {c.get_hyperparameters()["--x"]: c.get_status() for c in run.get_children()}
    assert statuses == {1: "Completed", 3: "Failed", 2: "Completed"}
    best = run.get_best_run_by_primary_metric()
    assert best is not None
    assert best.get_hyperparameters() == {"--x": 3}
    completed_best = run.get_best_run_by_primary_metric(include_failed=False)
    assert completed_best is not None
    assert completed_best.get_hyperparameters() == {"--x": 2}
    assert "x=3 fails on purpose" in run.read_log("logs/hyperdrive.txt").decode()


def test_a_primary_metric_no_child_logs_is_flagged_and_warned(
        workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", """
        from runyard import Run
        Run.get_context().log("accuracy", 0.5)
        Run.get_context().log("loss", 0.1)
    """)
    run = Experiment(workspace, "hd").submit(
        _config(source, GridParameterSampling({"--x": choice(1, 2)}), max_total_runs=2))
    run.wait_for_completion(timeout_seconds=90)
    assert run.get_status() == "Completed"
    for child in run.get_children():
        assert child.get_tags()["primary_metric_missing"] == (
            "logged no 'acc' (the primary metric); it logged: accuracy, loss")
    with pytest.warns(UserWarning, match=r"primary metric 'acc'; the children logged: "
                                         r"accuracy, loss"):
        assert run.get_best_run_by_primary_metric() is None
    assert [c["best_primary_metric"] for c in run.get_children_sorted_by_primary_metric()] \
        == [None, None]
    assert run.get_children_sorted_by_primary_metric(discard_no_metric=True) == []
    warnings = run.get_details()["warnings"]
    assert any("no child logged the primary metric 'acc'" in w["message"] for w in warnings)


def test_max_duration_minutes_ends_the_sweep(workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", SLOW_SCRIPT)
    run = Experiment(workspace, "hd").submit(_config(
        source, GridParameterSampling({"--x": choice(1, 2, 3, 4)}), max_duration_minutes=0.05))
    run.wait_for_completion(timeout_seconds=90)
    assert run.get_status() == "Completed"
    events = workspace.store.status_events(run.id)
    assert "max_duration_minutes=0.05 reached" in (events[-1]["detail"] or "")
    children = list(run.get_children())
    assert children
    assert {c.get_status() for c in children} == {"Canceled"}
    assert all("max_duration_minutes=0.05 reached" in c.get_tags()["canceled_by_sweep"]
               for c in children)


def test_random_sampling_draws_points_within_the_space(
        workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", """
        import argparse
        from runyard import Run
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float)
        Run.get_context().log("loss", parser.parse_args().lr)
    """)
    run = Experiment(workspace, "hd").submit(_config(
        source, RandomParameterSampling({"--lr": uniform(0.5, 0.6)}, properties={"rngSeed": 3}),
        primary_metric_name="loss", primary_metric_goal="minimize", max_total_runs=3))
    run.wait_for_completion(timeout_seconds=90)
    ranked = run.get_children_sorted_by_primary_metric()
    assert len(ranked) == 3
    assert all(0.5 <= c["best_primary_metric"] <= 0.6 for c in ranked)
    values = [c["best_primary_metric"] for c in ranked]
    assert values == sorted(values)   # minimize: the lowest first


def test_the_sweep_goes_on_after_the_submitting_process_exits(
        workspace: Workspace, tmp_path: Path) -> None:
    source = _write(tmp_path / "src", GRID_SCRIPT.replace("assert args.epochs == 5, args",
                                                          "import time; time.sleep(0.5)"))
    code = textwrap.dedent(f"""
        from runyard import Experiment, ScriptRunConfig, Workspace
        from runyard.hyperdrive import GridParameterSampling, HyperDriveConfig, choice
        ws = Workspace.from_config({str(workspace.path)!r})
        config = HyperDriveConfig(
            run_config=ScriptRunConfig({str(source)!r}, "train.py", arguments=["--epochs", 2]),
            hyperparameter_sampling=GridParameterSampling(
                {{"--lr": choice(1, 2, 3), "--n": choice(1)}}),
            primary_metric_name="acc", primary_metric_goal="maximize",
            max_total_runs=3, max_concurrent_runs=1)
        print(Experiment(ws, "hd").submit(config).id)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    parent_id = done.stdout.strip().splitlines()[-1]
    run = Run(Experiment(workspace, "hd"), parent_id)
    assert isinstance(run, HyperDriveRun)
    assert run.get_status() != "Completed"   # the submitting process is gone; it goes on
    run.wait_for_completion(timeout_seconds=120)
    assert run.get_status() == "Completed"
    assert sorted(c.get_status() for c in run.get_children()) == ["Completed"] * 3


# -- bad input: refused before any run is written ---------------------------------------------
def _issue_bad_inputs(source: Path) -> list[tuple[Callable[[], object], str]]:
    """The issue's list, each as the call that must fail and what its message says."""
    from runyard.hyperdrive import BayesianParameterSampling

    script = ScriptRunConfig(str(source), "train.py")
    grid = GridParameterSampling({"--x": choice(1, 2)})
    settings: dict[str, Any] = {"primary_metric_name": "acc",
                                "primary_metric_goal": "maximize", "max_total_runs": 2}
    return [
        (lambda: GridParameterSampling({"--lr": uniform(0, 1)}), "continuous"),
        (lambda: HyperDriveConfig(
            run_config=script, hyperparameter_sampling=BayesianParameterSampling(
                {"--lr": uniform(0, 1)}), policy=BanditPolicy(slack_factor=0.1),
            **settings), "does not support early termination"),
        (lambda: HyperDriveConfig(run_config=script, estimator=object(),
                                  hyperparameter_sampling=grid, **settings), "got both"),
        (lambda: HyperDriveConfig(hyperparameter_sampling=grid, **settings), "got neither"),
        (lambda: uniform(1, 0), "uniform"),
        (lambda: choice(), "choice"),
        (lambda: HyperDriveConfig(run_config=script, hyperparameter_sampling=grid,
                                  max_concurrent_runs=3, **settings),
         "max_concurrent_runs=3 is more than max_total_runs=2"),
        (lambda: HyperDriveConfig(run_config=script, hyperparameter_sampling=grid,
                                  **{**settings, "primary_metric_goal": "biggest"}),
         "unknown primary_metric_goal 'biggest'"),
    ]


@pytest.mark.parametrize("case", range(8))
def test_the_issues_bad_inputs_are_refused_before_any_run(
        workspace: Workspace, tmp_path: Path, case: int) -> None:
    source = _write(tmp_path / "src", "print('hi')\n")
    make, message = _issue_bad_inputs(source)[case]
    with pytest.raises(ValueError, match=message):
        Experiment(workspace, "hd").submit(make())
    assert workspace.store.list_runs() == []


@pytest.mark.parametrize(("change", "message"), [
    ({"script": "missing.py"}, "script 'missing.py' not found"),
    ({"compute_target": "nowhere"}, "nowhere"),
    ({"arguments": ["--x", object()]}, "argument 1"),
])
def test_a_sweep_with_a_bad_script_run_is_refused_before_any_run(
        workspace: Workspace, tmp_path: Path, change: dict[str, object], message: str) -> None:
    source = _write(tmp_path / "src", "print('hi')\n")
    settings: dict[str, object] = {"source_directory": str(source), "script": "train.py"}
    settings.update(change)
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(**settings),  # type: ignore[arg-type]
        hyperparameter_sampling=GridParameterSampling({"--x": choice(1, 2)}),
        primary_metric_name="acc", primary_metric_goal="maximize", max_total_runs=2)
    with pytest.raises(RunyardError, match=message):
        Experiment(workspace, "hd").submit(config)
    assert workspace.store.list_runs() == []


# -- replay and the CLI ---------------------------------------------------------------------
def test_replay_over_a_finished_sweep_reports_what_a_policy_would_have_done(
        grid_sweep: HyperDriveRun) -> None:
    report = grid_sweep.replay("Bandit(evaluation_interval=1, slack_factor=0.1)")
    assert report.children == 6
    assert report.best_run_id == grid_sweep.get_tags()["best_child_run_id"]
    assert report.compute_seconds > 0
    # every child's curve is a line through 0 with its own slope: all but the steepest
    # fall behind it by more than the slack once it has logged
    assert report.best_survived is True
    nothing = grid_sweep.replay("NoTermination()")
    assert nothing.stopped == ()
    assert nothing.compute_seconds_saved == 0


def _cli(ws: Workspace, *args: str) -> tuple[int, str]:
    from runyard.cli import cli

    result = CliRunner().invoke(cli, ["--workspace", str(ws.path), "hyperdrive", *args])
    return result.exit_code, result.output


def test_cli_show_lists_children_best_first_with_stop_reasons(
        grid_sweep: HyperDriveRun) -> None:
    code, out = _cli(grid_sweep.workspace, "show", grid_sweep.id)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"sweep {grid_sweep.id}: Completed, maximize acc, 6 child run(s)")
    rows = [line for line in lines if line.startswith(f"{grid_sweep.id}_")]
    assert len(rows) == 6
    assert rows[0].split()[0] == grid_sweep.get_tags()["best_child_run_id"]
    assert '{"--lr": 0.3, "n": 2}' in rows[0]
    code, out = _cli(grid_sweep.workspace, "show", grid_sweep.id, "--json")
    assert json.loads(out) == grid_sweep.get_children_sorted_by_primary_metric()


def test_cli_replay_prints_the_report(grid_sweep: HyperDriveRun) -> None:
    code, out = _cli(grid_sweep.workspace, "replay", grid_sweep.id, "--policy",
                     "Bandit(evaluation_interval=2, slack_factor=0.1)")
    assert code == 0, out
    assert out.startswith("replayed Bandit over 6 child run(s) (maximize acc)")
    assert "compute-seconds:" in out
    code, out = _cli(grid_sweep.workspace, "replay", grid_sweep.id, "--policy", "Bandit(")
    assert code == 2
    assert "cannot read policy" in out


def test_cli_show_refuses_a_run_that_is_not_a_sweep(
        grid_sweep: HyperDriveRun) -> None:
    code, out = _cli(grid_sweep.workspace, "show", f"{grid_sweep.id}_0")
    assert code == 2
    assert "is not a HyperDrive sweep" in out




# -- the v1 mirror --------------------------------------------------------------------------
def test_azureml_train_hyperdrive_is_runyards_hyperdrive(tmp_path: Path) -> None:
    from runyard import hyperdrive
    from runyard.azureml._ignored import AzureArgumentIgnoredWarning
    from runyard.azureml.train import hyperdrive as v1
    from runyard.errors import NotSupportedError

    assert v1.BanditPolicy is hyperdrive.BanditPolicy
    assert v1.choice is hyperdrive.choice
    assert v1.HyperDriveRun is HyperDriveRun
    source = _write(tmp_path / "src", "print('hi')\n")
    arguments: dict[str, object] = {
        "run_config": ScriptRunConfig(str(source), "train.py"),
        "hyperparameter_sampling": v1.GridParameterSampling({"--x": v1.choice(1, 2)}),
        "primary_metric_name": "acc", "primary_metric_goal": v1.PrimaryMetricGoal.MAXIMIZE,
        "max_total_runs": 2}
    config = v1.HyperDriveConfig(**arguments)  # type: ignore[arg-type]
    assert isinstance(config, hyperdrive.HyperDriveConfig)
    assert config.pipeline is None
    with pytest.warns(AzureArgumentIgnoredWarning, match="debug_flag"):
        v1.HyperDriveConfig(**arguments, debug_flag=True)  # type: ignore[arg-type]
    with pytest.raises(NotSupportedError, match="no pipelines"):
        v1.HyperDriveConfig(**arguments, pipeline=object())  # type: ignore[arg-type]


def test_inside_a_run_no_fork_server_starts_and_the_reason_says_so() -> None:
    """A sweep's driver (a process inside a run) starting a trial with no fork server
    running falls back to exec and starts no server; the reason it gives says that."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="ryz", dir="/tmp"))  # a short socket path
    code = ("import os, sys\n"
            "from runyard.supervisor import _start\n"
            "env = dict(os.environ, RUNYARD_ZYGOTE_DIR=sys.argv[1])\n"
            "print(_start._inside_a_run())\n"
            "print(_start._through_server(['true'], env, os.devnull))\n")
    try:
        # a process whose command line holds `runyard.supervisor` counts as a supervisor
        shown = subprocess.run([sys.executable, "-c", code, str(folder), "runyard.supervisor"],
                               capture_output=True, text=True, timeout=60, check=True).stdout
        assert shown.splitlines() == [
            "True", "no fork server yet (none is started from inside a run)"]
        time.sleep(0.5)
        assert not list(folder.iterdir())   # no server was started: no socket, no lock
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


# both curves log their four values at once and end
FAST_CURVE_SCRIPT = """
    import argparse
    from runyard import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--curve")
    args = parser.parse_args()
    run = Run.get_context()
    for _ in range(4):
        run.log("acc", 0.9 if args.curve == "good" else 0.1)
"""


def test_a_child_that_completed_before_its_cancel_took_effect_is_not_stopped_early(
        workspace: Workspace, tmp_path: Path) -> None:
    """The policy decides on values read while a child runs; the child may complete before
    the cancel reaches it. Such a child was not stopped early: no `early_termination`
    tag, not counted as stopped, nothing saved. The race is made certain here by stepping
    a real sweep driver by hand: both children (real runs) end, then the driver reads the
    bad child's values as it would have while the child ran, and its policy stops it."""
    from runyard.hyperdrive.run import write_parent
    from runyard.supervisor._sweep import SweepDriver

    source = _write(tmp_path / "src", FAST_CURVE_SCRIPT)
    parent = write_parent(Experiment(workspace, "hd"), _config(
        source, GridParameterSampling({"--curve": choice("good", "bad")}),
        policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1), max_total_runs=2))
    store = workspace.store
    driver = SweepDriver(workspace, parent)
    try:
        driver.source = driver._restore_source()
        driver.sampler = driver.sampling.sampler(driver.goal)
        for _ in range(2):
            trial = driver.sampler.ask()
            assert trial is not None
            driver._start(trial)
        good, bad = driver.children.values()
        assert [good.trial.hyperparameters, bad.trial.hyperparameters] == [
            {"--curve": "good"}, {"--curve": "bad"}]
        wait_for(lambda: all(store.get_run(c.run_id)["status"] == "Completed"
                             for c in (good, bad)), timeout=60)
        driver._watch(good)   # it ended: its four values, no decision on an ended child
        assert good.stop is None
        for point in store.get_metrics(bad.run_id, "acc"):   # read "while it ran"
            bad.seen += 1
            bad.values.append(float(point["value"]))
        driver._apply_policy(bad)
        assert bad.stop is not None
        assert bad.stop.cancel
        driver._watch(bad)    # its end: Completed before the cancel took effect
        driver._record_results()
    finally:
        driver._events.close()
        driver._log.close()
    tags, properties = store.get_tags(bad.run_id), store.get_properties(bad.run_id)
    assert "early_termination" not in tags
    assert "early_termination_decision" not in properties
    assert tags["early_termination_finished_first"].startswith(
        "Completed before the policy's cancel took effect, so not stopped early; Bandit "
        "policy at interval 4: canceled")
    decision = json.loads(properties["early_termination_finished_first"])
    assert (decision["interval"], decision["value"], decision["cancel"]) == (4, 0.1, True)
    assert store.get_properties(parent)["children_stopped_early"] == "0"
    assert store.get_tags(parent)["compute_seconds_saved"] == "0.000"
    log = (workspace.run_dir(parent) / "logs" / "hyperdrive.txt").read_text()
    assert (f"{bad.run_id} Completed before the policy's cancel at interval 4 took effect "
            f"(not stopped early)") in log
    assert "2 child run(s), 0 stopped early by Bandit" in log
