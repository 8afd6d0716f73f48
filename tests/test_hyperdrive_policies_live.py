"""Each early-termination policy's decisions in real sweeps, against hand-computed
expectations, for both goals (issue 14's acceptance).

Every sweep runs the scripted trial bench/scripts/curve.py, one child per curve
(`GridParameterSampling({"--curve": choice(*curves)})`, so child n logs curves[n]), and
runs its children **one at a time** (`max_concurrent_runs=1`). That makes every decision
independent of timing: when child k logs its N-th value, children 0..k-1 have ended
with their whole histories and no later child has started, so the policy sees exactly
children 0..k-1 plus child k's first N values.

What a live sweep could still vary is what a canceled child logs between the decision and
its end. Two designs keep that out of the expectations: under Median and Truncation a
canceled child's curve ends at the value it is canceled on (`--hold` keeps it alive for
the decision), so its history is exactly that; under Bandit a canceled child's later
values are too low (or too high, for MINIMIZE) to move any later best, so 0, 1 or all of
them logged give the same decisions. `test_the_expectations_hold_on_the_pure_policies`
checks the literal expectations below against the pure core (hyperdrive/policy.py) the
same way, with every number of such late values, in a second; the live tests then check
them through real sweeps.

The arithmetic of each expectation is written beside it. Notation: "@N" is interval N
(the N-th logged value), best@N a run's best among its first N values, avg@N the mean of
its first N values, thr the threshold; "cancel" means the run's best so far is strictly
worse than thr (a tie survives).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, ScriptRunConfig, Workspace
from runyard.hyperdrive import (
    BanditPolicy,
    EarlyTerminationPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    TruncationSelectionPolicy,
    choice,
)

from .conftest import _processes_mentioning

CURVE = Path(__file__).resolve().parent.parent / "bench" / "scripts" / "curve.py"
SLEEP_S = 0.3      # between a child's values
HOLD_S = 3.0       # after its last value: a decision on the last value finds it running


@dataclass(frozen=True)
class Case:
    """A sweep: its policy and goal, its children's curves (in order), and the expected
    outcome: {child index: the interval it is canceled at}, and the best child's index."""

    name: str
    policy: Callable[[], EarlyTerminationPolicy]
    goal: PrimaryMetricGoal
    curves: tuple[str, ...]
    canceled: dict[int, int] = field(hash=False)
    best: int


MAX, MIN = PrimaryMetricGoal.MAXIMIZE, PrimaryMetricGoal.MINIMIZE

CASES = [
    # Bandit, slack_factor 0.2, applies at N ≥ 2 (delay 2): MAXIMIZE cancels best@N < best/1.2
    Case("bandit-factor-max",
         lambda: BanditPolicy(evaluation_interval=1, slack_factor=0.2, delay_evaluation=2),
         MAX,
         ("0.50,0.70,0.80,0.88",
          # @1 not evaluated (delay), though 0.30 is far behind.
          # @2 best = max(c0 0.70, 0.62) = 0.70, thr 0.70/1.2 = 0.5833: 0.62 kept.
          # @3 best = c0's 0.80, thr 0.6667; best so far 0.62 → canceled at 3
          #    (its 4th value, 0.70, would have been within the slack).
          "0.30,0.62,0.50,0.70",
          # @2 best = max(0.70, 0.62, 0.75) = 0.75, thr 0.625: kept.
          # @3 best = 0.80, thr 0.6667: its value now is 0.60 but its best so far is 0.75:
          #    kept. @4 best = c0's 0.88 (c1's late 0.70 is lower), thr 0.7333: 0.75 kept.
          "0.10,0.75,0.60,0.60",
          # the best from @1 on (0.95), though it falls to 0.20: never below the threshold.
          "0.95,0.20,0.20,0.20",
          # @2 best = c3's 0.95, thr 0.7917; best so far 0.60 → canceled at 2.
          "0.50,0.60,0.60,0.60"),
         canceled={1: 3, 4: 2}, best=3),
    # MINIMIZE, runyard's mirror rule: cancel best@N > best × 1.2
    Case("bandit-factor-min",
         lambda: BanditPolicy(evaluation_interval=1, slack_factor=0.2, delay_evaluation=2),
         MIN,
         ("0.50,0.40,0.30,0.30",
          # @2 best = min(c0 0.40, 0.45) = 0.40, thr 0.48: 0.45 kept.
          # @3 best = c0's 0.30, thr 0.36; best so far 0.45 → canceled at 3.
          "0.80,0.45,0.50,0.30",
          # @2 best = min(0.40, 0.45, 0.35) = 0.35, thr 0.42: kept.
          # @3 best = 0.30, thr 0.36: its value now is 0.50, its best so far 0.35: kept.
          # @4 best = 0.30 (c0's; c1's late 0.30 equals it), thr 0.36: 0.35 kept.
          "0.90,0.35,0.50,0.50",
          # the best from @1 on (0.05): kept, though it rises to 0.90.
          "0.05,0.90,0.90,0.90",
          # @2 best = c3's 0.05, thr 0.06; best so far 0.40 → canceled at 2.
          "0.50,0.40,0.40,0.40"),
         canceled={1: 3, 4: 2}, best=3),
    # Bandit, slack_amount 0.15, applies at N = 2, 4 (evaluation_interval 2):
    # MAXIMIZE cancels best@N < best − 0.15
    Case("bandit-amount-max",
         lambda: BanditPolicy(evaluation_interval=2, slack_amount=0.15),
         MAX,
         ("0.50,0.60,0.70,0.80",
          # @2 best = max(c0 0.60, 0.20) = 0.60, thr 0.45; 0.20 → canceled at 2.
          "0.10,0.20,0.60,0.62",
          # @2 best = 0.60, thr 0.45: 0.54 kept. @3 is not evaluated (there: best 0.70,
          # thr 0.55, 0.54 would be canceled). @4 best = c0's 0.80 (c1 logs at most 0.62),
          # thr 0.65: its best so far 0.66 kept.
          "0.54,0.50,0.30,0.66",
          # @2 best = 0.60, thr 0.45; 0.35 → canceled at 2.
          "0.30,0.35,0.40,0.40",
          # @2 best = 0.75 (its own): kept. @4 best = c0's 0.80, thr 0.65: 0.75 kept.
          "0.70,0.75,0.60,0.60"),
         canceled={1: 2, 3: 2}, best=0),
    # MINIMIZE: cancel best@N > best + 0.15
    Case("bandit-amount-min",
         lambda: BanditPolicy(evaluation_interval=2, slack_amount=0.15),
         MIN,
         ("0.50,0.40,0.30,0.20",
          # @2 best = min(c0 0.40, 0.80) = 0.40, thr 0.55; 0.80 → canceled at 2.
          "0.90,0.80,0.40,0.38",
          # @2 best = 0.40, thr 0.55: 0.46 kept. @3 not evaluated (there: best 0.30,
          # thr 0.45, 0.46 would be canceled). @4 best = c0's 0.20, thr 0.35: 0.34 kept.
          "0.46,0.50,0.70,0.34",
          # @2 best = 0.40, thr 0.55; 0.65 → canceled at 2.
          "0.70,0.65,0.60,0.60",
          # @2 best = 0.25 (its own): kept. @4 best = c0's 0.20, thr 0.35: 0.25 kept.
          "0.30,0.25,0.40,0.40"),
         canceled={1: 2, 3: 2}, best=0),
    # MedianStopping (evaluation_interval 1, delay 0): cancel best@N worse than the median
    # of avg@N over the runs that have reached N (itself included).
    # c0's avg@1..4 = 0.60, 0.65, 0.70, 0.75.
    Case("median-max", lambda: MedianStoppingPolicy(evaluation_interval=1), MAX,
         ("0.60,0.70,0.80,0.90",
          # @1 median(0.60, 0.20) = 0.40; 0.20 → canceled at 1.
          "0.20",
          # avg@N = 0.65, 0.685, 0.70333, 0.7175.
          # @1 median(0.60, 0.20, 0.65) = 0.60: kept. @2 median(0.65, 0.685) = 0.6675,
          # best 0.72: kept. @3 median(0.70, 0.70333) = 0.70167, 0.74: kept.
          # @4 median(0.75, 0.7175) = 0.73375, 0.76: kept.
          "0.65,0.72,0.74,0.76",
          # @1 median(0.60, 0.20, 0.65, 0.62) = 0.61: kept.
          # @2 median(c0 0.65, c2 0.685, own 0.625) = 0.65; best 0.63 → canceled at 2.
          "0.62,0.63",
          # @1 median(0.60, 0.20, 0.65, 0.62, 0.68) = 0.62: kept.
          # @2 median(0.65, 0.685, 0.625, 0.68) = (0.65 + 0.68)/2 = 0.665: kept.
          # @3 median(c0 0.70, c2 0.70333, own 0.68) = 0.70; best 0.68 → canceled at 3,
          # though it never got worse: the others' averages rose past it.
          "0.68,0.68,0.68",
          # best so far 0.92 from @1: kept throughout, though its values fall to 0.30
          # (@2 median 0.65, @3 median(0.70, 0.70333, 0.68, 0.50) = 0.69, @4 0.7175).
          "0.92,0.30,0.30,0.30"),
         canceled={1: 1, 3: 2, 4: 3}, best=5),
    # MINIMIZE: cancel best@N (its lowest) above the median. c0's avg@N = 0.40, 0.35, 0.30, 0.25.
    Case("median-min", lambda: MedianStoppingPolicy(evaluation_interval=1), MIN,
         ("0.40,0.30,0.20,0.10",
          # @1 median(0.40, 0.80) = 0.60; 0.80 → canceled at 1.
          "0.80",
          # avg@N = 0.35, 0.315, 0.29667, 0.2825.
          # @1 median(0.40, 0.80, 0.35) = 0.40: kept. @2 median(0.35, 0.315) = 0.3325,
          # best 0.28: kept. @3 median(0.30, 0.29667) = 0.29833, 0.26: kept.
          # @4 median(0.25, 0.2825) = 0.26625, 0.24: kept.
          "0.35,0.28,0.26,0.24",
          # @1 median(0.40, 0.80, 0.35, 0.38) = 0.39: kept.
          # @2 median(c0 0.35, c2 0.315, own 0.375) = 0.35; best 0.37 → canceled at 2.
          "0.38,0.37",
          # @1 median(0.40, 0.80, 0.35, 0.38, 0.32) = 0.38: kept.
          # @2 median(0.35, 0.315, 0.375, 0.32) = (0.32 + 0.35)/2 = 0.335: kept.
          # @3 median(c0 0.30, c2 0.29667, own 0.32) = 0.30; best 0.32 → canceled at 3.
          "0.32,0.32,0.32",
          # best so far 0.08 from @1: kept throughout, though its values rise to 0.70.
          "0.08,0.70,0.70,0.70"),
         canceled={1: 1, 3: 2, 4: 3}, best=5),
    # TruncationSelection 50%, applies at N ≥ 2: among the n runs that have reached N,
    # k = floor(n × 50 / 100); thr = the (k+1)-th worst best@N; cancel best@N worse than thr.
    Case("truncation-max",
         lambda: TruncationSelectionPolicy(truncation_percentage=50, evaluation_interval=1,
                                           delay_evaluation=2),
         MAX,
         ("0.50,0.60,0.70,0.80",
          # @2 n=2 (c0 0.60, own 0.90), k=1, thr 0.90: kept; @3, @4 likewise (0.70, 0.80
          # against 0.90).
          "0.90,0.30,0.30,0.30",
          # @1 not evaluated (delay; there it would be the lowest of 3).
          # @2 n=3 (0.60, 0.90, 0.55), k=1, thr = 2nd worst 0.60; 0.55 → canceled at 2.
          "0.10,0.55",
          # @2 n=4 (0.60, 0.90, 0.55, 0.65), k=2, thr = 3rd worst 0.65 (its own): kept.
          # @3 n=3 (c0 0.70, c1 0.90, own 0.66; c2 never reached 3), k=1, thr 0.70;
          # 0.66 → canceled at 3.
          "0.40,0.65,0.66",
          # the best at every interval: kept.
          "0.95,0.95,0.95,0.95",
          # @2 n=6 (0.60, 0.90, 0.55, 0.65, 0.95, 0.86), k=3, thr = 4th worst 0.86 (its
          # own): kept. @3 n=5 (0.70, 0.90, 0.66, 0.95, 0.87), k=2, thr 0.87 (own): kept.
          # @4 n=4 (0.80, 0.90, 0.95, 0.88), k=2, thr = 3rd worst 0.90; 0.88 → canceled
          # at 4, its last value.
          "0.85,0.86,0.87,0.88"),
         canceled={2: 2, 3: 3, 5: 4}, best=4),
    # MINIMIZE: the worst are the highest.
    Case("truncation-min",
         lambda: TruncationSelectionPolicy(truncation_percentage=50, evaluation_interval=1,
                                           delay_evaluation=2),
         MIN,
         ("0.50,0.40,0.30,0.20",
          # @2 n=2 (0.40, own 0.10), k=1, thr 0.10: kept; @3, @4 likewise.
          "0.10,0.70,0.70,0.70",
          # @2 n=3 (0.40, 0.10, 0.45), k=1, thr = 2nd worst 0.40; 0.45 → canceled at 2.
          "0.90,0.45",
          # @2 n=4 (0.40, 0.10, 0.45, 0.35), k=2, thr = 3rd worst 0.35 (own): kept.
          # @3 n=3 (0.30, 0.10, own 0.34), k=1, thr 0.30; 0.34 → canceled at 3.
          "0.60,0.35,0.34",
          # the best at every interval: kept.
          "0.05,0.05,0.05,0.05",
          # @2 n=6 (0.40, 0.10, 0.45, 0.35, 0.05, 0.14), k=3, thr = 4th worst 0.14 (own):
          # kept. @3 n=5 (0.30, 0.10, 0.34, 0.05, 0.13), k=2, thr 0.13 (own): kept.
          # @4 n=4 (0.20, 0.10, 0.05, 0.12), k=2, thr = 3rd worst 0.10; 0.12 → canceled
          # at 4, its last value.
          "0.15,0.14,0.13,0.12"),
         canceled={2: 2, 3: 3, 5: 4}, best=4),
]
# NoTermination: the Bandit sweeps' curves, where Bandit cancels two children: none is.
CASES += [Case(f"notermination-{goal.value.lower()}", NoTerminationPolicy, goal,
               bandit.curves, canceled={}, best=bandit.best)
          for goal, bandit in ((MAX, CASES[0]), (MIN, CASES[1]))]


def _values(curve: str) -> list[float]:
    return [float(v) for v in curve.split(",")]


def _sequential_decisions(case: Case, late: dict[int, int]) -> dict[int, int]:
    """Play the case's sweep as the live one runs it, one child at a time, on the pure
    policy: {child: the interval it is canceled at}. `late[k]` is how many values child k
    logs after its cancel (what a live sweep may vary)."""
    policy = case.policy()
    histories: dict[str, list[float]] = {}
    canceled: dict[int, int] = {}
    for index, curve in enumerate(case.curves):
        values = _values(curve)
        for interval in range(1, len(values) + 1):
            histories[f"c{index}"] = values[:interval]
            decision = policy.evaluate(f"c{index}", histories, case.goal)
            if decision is not None and decision.cancel:
                canceled[index] = interval
                histories[f"c{index}"] = values[:interval + late.get(index, 0)]
                break
    return canceled


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_expectations_hold_on_the_pure_policies(case: Case) -> None:
    """The hand-computed expectations agree with hyperdrive/policy.py, whatever number of
    values a canceled child logs before it stops."""
    first = _sequential_decisions(case, {})
    assert first == case.canceled
    # every number of late values for every canceled child gives the same decisions
    tails = {k: len(_values(case.curves[k])) - n for k, n in case.canceled.items()}
    for counts in itertools.product(*(range(t + 1) for t in tails.values())):
        assert _sequential_decisions(case, dict(zip(tails, counts, strict=True))) == \
            case.canceled, counts
    # the best child: the best over all of a child's values (canceled children counted
    # with what they logged up to the cancel, and at most their whole curve)
    goal_best = max if case.goal is MAX else min
    bests = [goal_best(_values(c)[:case.canceled.get(i, len(_values(c)))])
             for i, c in enumerate(case.curves)]
    assert bests.index(goal_best(bests)) == case.best
    assert bests.count(goal_best(bests)) == 1


# -- the live sweeps ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Any:
    """The sweep of every case this session runs, submitted at once to one workspace (each
    runs its children one at a time, so running the sweeps side by side changes no
    decision), and cleaned up."""
    wanted = {item.callspec.params["case"].name for item in request.session.items
              if getattr(item, "originalname", "") == LIVE_TEST and hasattr(item, "callspec")}
    tmp = tmp_path_factory.mktemp("policies-live")
    workspace = Workspace.create("policies", path=tmp / "ws")
    source = tmp / "curve"
    source.mkdir()
    shutil.copy2(CURVE, source / "curve.py")
    experiment = Experiment(workspace, "policies")
    runs = {}
    try:
        for case in CASES:
            if case.name not in wanted:
                continue
            config = HyperDriveConfig(
                run_config=ScriptRunConfig(str(source), "curve.py", arguments=[
                    "--metric", "score", "--sleep", SLEEP_S, "--hold", HOLD_S]),
                hyperparameter_sampling=GridParameterSampling(
                    {"--curve": choice(*case.curves)}),
                policy=case.policy(), primary_metric_name="score",
                primary_metric_goal=case.goal, max_total_runs=len(case.curves),
                max_concurrent_runs=1)
            runs[case.name] = experiment.submit(config)
        yield runs
    finally:
        for run in runs.values():
            with contextlib.suppress(Exception):
                run.cancel()
        for pid in _processes_mentioning(str(workspace.path)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _curve_of(child: Any) -> str:
    """The --curve argument the sweep gave this child (its recorded hyperparameters)."""
    return str(child.get_hyperparameters()["--curve"])


def _cancel_decision(child: Any) -> tuple[str, int]:
    """The policy and interval of the decision the canceled child recorded."""
    reason = _cancel_reason(child)
    found = re.search(r"^(\w+) policy at interval (\d+): canceled", reason)
    assert found, (child.get_tags(), child.get_details().get("error"))
    return found.group(1), int(found.group(2))


def _cancel_reason(child: Any) -> str:
    """Why the policy stopped the child: its `early_termination` tag ('' when none)."""
    return str(child.get_tags().get("early_termination") or "")


LIVE_TEST = "test_a_live_sweep_makes_the_hand_computed_decisions"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_live_sweep_makes_the_hand_computed_decisions(case: Case, sweeps: Any) -> None:
    parent = sweeps[case.name]
    parent.wait_for_completion(show_output=False, timeout_seconds=600)
    assert parent.get_status() == "Completed"
    children = {_curve_of(child): child for child in parent.get_children()}
    assert sorted(children) == sorted(case.curves)
    canceled = {}
    for index, curve in enumerate(case.curves):
        child = children[curve]
        status = child.get_status()
        logged = child.get_metrics().get("score", [])
        logged = logged if isinstance(logged, list) else [logged]
        values = _values(curve)
        if index in case.canceled:
            assert status == "Canceled", (curve, status)
            policy_name, canceled[index] = _cancel_decision(child)
            assert policy_name == case.policy().POLICY_NAME
            # it logged at least up to the decision, and only its own curve's values
            assert logged[:canceled[index]] == values[:canceled[index]], (curve, logged)
            assert logged == values[:len(logged)]
        else:
            assert status == "Completed", (curve, status, child.get_tags(),
                                           child.get_details().get("error"))
            assert logged == values, curve
    assert canceled == case.canceled
    best = parent.get_best_run_by_primary_metric()
    assert best is not None
    assert _curve_of(best) == case.curves[case.best]
    ranked = parent.get_children_sorted_by_primary_metric()
    assert ranked[0]["run_id"] == best.id


@pytest.mark.slow
def test_a_sweeps_end_cancels_no_child_of_another_sweep(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sweeps side by side, the supervisors' fork server first wanted by one sweep's
    driver: the server must not be started inside that sweep's process tree, where its end
    (the keeper's kill_tree) would SIGTERM the server and every supervisor it forked, and
    so cancel the other sweep's running child ("canceled by request", no policy)."""
    from runyard.supervisor import _start

    monkeypatch.setenv("RUNYARD_ZYGOTE_DIR", str(tmp_path / "zygote"))
    folder = _start.server_folder(os.environ)
    assert folder is not None
    # "a server failed to start a moment ago": nobody starts one for a few seconds, so
    # the first to want one after that is a driver, starting a child
    marker = folder / f"{_start.start_key(os.environ)}.{_start._FAILED}"
    marker.write_text("")
    moment = time.time() - (_start.RETRY_START_SECONDS - 4)
    os.utime(marker, (moment, moment))
    workspace = Workspace.create("side-by-side", path=tmp_path / "ws")
    source = tmp_path / "curve"
    source.mkdir()
    shutil.copy2(CURVE, source / "curve.py")

    def sweep(children: int, sleep: float) -> HyperDriveConfig:
        return HyperDriveConfig(
            run_config=ScriptRunConfig(str(source), "curve.py", arguments=[
                "--kind", "learning", "--steps", "4", "--sleep", sleep]),
            hyperparameter_sampling=GridParameterSampling({"--seed": choice(*range(children))}),
            policy=NoTerminationPolicy(), primary_metric_name="score", primary_metric_goal=MAX,
            max_total_runs=children, max_concurrent_runs=1)

    experiment = Experiment(workspace, "side-by-side")
    try:
        long = experiment.submit(sweep(8, 0.8))
        short = experiment.submit(sweep(6, 0.5))   # ends while `long` still runs a child
        for parent in (short, long):
            parent.wait_for_completion(timeout_seconds=300)
        for parent in (short, long):
            statuses = {c.id: (c.get_status(), c.get_details().get("error"))
                        for c in parent.get_children()}
            assert all(s == "Completed" for s, _ in statuses.values()), statuses
    finally:
        for pid in _processes_mentioning(str(workspace.path)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in _processes_mentioning(str(folder)):   # the server, if one started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
