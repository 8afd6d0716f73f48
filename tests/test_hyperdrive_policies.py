"""Early-termination policies against hand-computed expectations on scripted curves, for
both goals. A history is a run's primary-metric values in logging order; the run being
evaluated has just logged its last one."""

from __future__ import annotations

import math
import pickle

import pytest

from runyard.errors import ValidationError
from runyard.hyperdrive import (
    BanditPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PolicyDecision,
    PrimaryMetricGoal,
    TruncationSelectionPolicy,
    policy_from_json,
)

MAX, MIN = PrimaryMetricGoal.MAXIMIZE, PrimaryMetricGoal.MINIMIZE


# -- when a policy applies --------------------------------------------------------------------
@pytest.mark.parametrize(("interval", "delay", "applies"), [
    (1, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    (2, 0, [2, 4, 6, 8]),
    (2, 5, [6, 8]),
    (3, 4, [6, 9]),
    (1, 3, [3, 4, 5, 6, 7, 8, 9]),
])
def test_a_policy_applies_at_multiples_of_the_interval_from_the_delay(interval, delay, applies):
    policy = BanditPolicy(evaluation_interval=interval, slack_amount=0.1,
                          delay_evaluation=delay)
    assert [n for n in range(1, 10) if policy.applies_at(n)] == applies
    histories = {"a": [0.9] * 4, "b": [0.1] * 4}
    expected = 4 in applies
    assert (policy.evaluate("b", histories, MAX) is not None) == expected


# -- Bandit -------------------------------------------------------------------------------------
def test_bandit_slack_factor_maximize_cancels_below_best_over_one_plus_slack():
    policy = BanditPolicy(evaluation_interval=2, slack_factor=0.1)
    # at interval 2 the best is a's 0.9 (its 0.95 at interval 3 is not seen yet):
    # threshold 0.9 / 1.1 = 0.81818...
    histories = {"a": [0.5, 0.9, 0.95], "b": [0.3, 0.8]}
    decision = policy.evaluate("b", histories, MAX)
    assert decision.cancel
    assert (decision.policy, decision.interval, decision.value, decision.best) == (
        "Bandit", 2, 0.8, 0.9)
    assert decision.threshold == pytest.approx(0.9 / 1.1)
    assert decision.compared == 2
    assert not policy.evaluate("b", {**histories, "b": [0.3, 0.82]}, MAX).cancel
    assert policy.evaluate("b", {**histories, "b": [0.3]}, MAX) is None   # interval 1


def test_bandit_uses_the_runs_best_so_far_not_its_last_value():
    policy = BanditPolicy(slack_factor=0.1)
    histories = {"a": [0.9, 0.9, 0.9], "b": [0.85, 0.5, 0.4]}   # b's best so far: 0.85
    assert not policy.evaluate("b", histories, MAX).cancel


def test_bandit_slack_factor_minimize_is_the_mirror_rule():
    policy = BanditPolicy(evaluation_interval=2, slack_factor=0.1)
    histories = {"a": [0.5, 0.2], "b": [0.6, 0.23]}            # threshold 0.2 × 1.1 = 0.22
    decision = policy.evaluate("b", histories, MIN)
    assert decision.cancel
    assert decision.best == 0.2
    assert decision.value == 0.23
    assert decision.threshold == pytest.approx(0.22)
    assert not policy.evaluate("b", {**histories, "b": [0.6, 0.21]}, MIN).cancel


def test_bandit_slack_amount_both_goals_and_a_tie_survives():
    policy = BanditPolicy(slack_amount=0.05)
    assert policy.evaluate("b", {"a": [0.9], "b": [0.84]}, MAX).cancel   # below 0.85
    assert not policy.evaluate("b", {"a": [0.9], "b": [0.85]}, MAX).cancel
    assert policy.evaluate("b", {"a": [0.1], "b": [0.16]}, MIN).cancel   # above 0.15
    assert not policy.evaluate("b", {"a": [0.1], "b": [0.15]}, MIN).cancel
    assert policy.evaluate("b", {"a": [0.1], "b": [0.16]}, MIN).threshold == pytest.approx(0.15)


def test_bandit_never_cancels_the_best_run_even_with_no_slack():
    for policy in (BanditPolicy(slack_factor=0), BanditPolicy(slack_amount=0)):
        assert not policy.evaluate("a", {"a": [0.5], "b": [0.4]}, MAX).cancel
        assert policy.evaluate("b", {"a": [0.5], "b": [0.4]}, MAX).cancel
        assert not policy.evaluate("b", {"a": [0.5], "b": [0.4]}, MIN).cancel
        assert policy.evaluate("a", {"a": [0.5], "b": [0.4]}, MIN).cancel


def test_bandit_slack_factor_with_a_negative_best_stays_on_the_worse_side():
    policy = BanditPolicy(slack_factor=0.1)
    # MAXIMIZE, best −1.0: threshold −1.1 (v1's −1.0 / 1.1 = −0.909 would cancel the best)
    assert not policy.evaluate("a", {"a": [-1.0], "b": [-1.05]}, MAX).cancel
    assert not policy.evaluate("b", {"a": [-1.0], "b": [-1.05]}, MAX).cancel
    assert policy.evaluate("b", {"a": [-1.0], "b": [-1.2]}, MAX).threshold == pytest.approx(-1.1)
    assert policy.evaluate("b", {"a": [-1.0], "b": [-1.2]}, MAX).cancel
    # MINIMIZE, best −1.0: threshold −1.0 / 1.1 = −0.909
    assert not policy.evaluate("b", {"a": [-1.0], "b": [-0.95]}, MIN).cancel
    assert policy.evaluate("b", {"a": [-1.0], "b": [-0.9]}, MIN).cancel


def test_a_diverged_run_logging_nan_counts_as_worst():
    policy = BanditPolicy(slack_factor=0.5)
    assert policy.evaluate("b", {"a": [0.9], "b": [math.nan]}, MAX).cancel
    assert policy.evaluate("b", {"a": [0.1], "b": [math.nan]}, MIN).cancel


# -- Median stopping ----------------------------------------------------------------------------
def test_median_stopping_maximize_against_running_averages_of_runs_at_the_interval():
    policy = MedianStoppingPolicy()
    histories = {"a": [0.2, 0.4],    # running average 0.3
                 "b": [0.5, 0.7],    # 0.6
                 "c": [0.1, 0.25],   # 0.175
                 "d": [0.6]}         # not at interval 2 yet: left out
    decision = policy.evaluate("c", histories, MAX)        # median(0.3, 0.6, 0.175) = 0.3
    assert decision.cancel
    assert decision.compared == 3
    assert decision.threshold == pytest.approx(0.3)
    assert decision.value == 0.25
    assert decision.best == 0.7
    # a's best so far (0.4) beats the median although its own average (0.3) only equals it
    assert not policy.evaluate("a", histories, MAX).cancel


def test_median_stopping_minimize():
    policy = MedianStoppingPolicy(evaluation_interval=2)
    histories = {"a": [0.8, 0.6], "b": [0.5, 0.3], "c": [0.9, 0.75]}  # averages .7 .4 .825
    decision = policy.evaluate("c", histories, MIN)
    assert decision.cancel
    assert decision.threshold == pytest.approx(0.7)
    assert not policy.evaluate("a", histories, MIN).cancel            # best 0.6 < 0.7


def test_median_stopping_reads_other_runs_only_up_to_the_interval():
    policy = MedianStoppingPolicy()
    # at interval 1: averages 0.5 (a's later 0.9s unseen), 0.3 → median 0.4; b's 0.3 < 0.4
    decision = policy.evaluate("b", {"a": [0.5, 0.9, 0.9], "b": [0.3]}, MAX)
    assert decision.threshold == pytest.approx(0.4)
    assert decision.cancel


def test_median_stopping_alone_never_cancels():
    assert not MedianStoppingPolicy().evaluate("a", {"a": [0.1]}, MAX).cancel


# -- Truncation selection ---------------------------------------------------------------------
def test_truncation_cancels_the_lowest_percentage_maximize():
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    histories = {r: [v] for r, v in zip("abcde", [0.5, 0.6, 0.7, 0.8, 0.1], strict=True)}
    decision = policy.evaluate("e", histories, MAX)   # 20% of 5 runs: 1; cut at 0.5
    assert decision.cancel
    assert decision.threshold == 0.5
    assert decision.compared == 5
    assert not policy.evaluate("a", histories, MAX).cancel   # the cut itself survives


def test_truncation_minimize_cancels_the_highest():
    policy = TruncationSelectionPolicy(truncation_percentage=40)
    histories = {r: [v] for r, v in zip("abcde", [0.5, 0.4, 0.3, 0.2, 0.9], strict=True)}
    # 40% of 5: 2 runs (0.9, 0.5); the cut is the third worst, 0.4
    assert policy.evaluate("e", histories, MIN).cancel
    assert policy.evaluate("a", histories, MIN).cancel
    assert policy.evaluate("a", histories, MIN).threshold == 0.4
    assert not policy.evaluate("b", histories, MIN).cancel


def test_truncation_cancels_no_one_while_too_few_runs_for_one():
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    decision = policy.evaluate("d", {"a": [0.9], "b": [0.8], "c": [0.7], "d": [0.1]}, MAX)
    assert not decision.cancel
    assert decision.threshold is None


def test_truncation_ranks_by_best_so_far_up_to_the_interval():
    policy = TruncationSelectionPolicy(truncation_percentage=50, evaluation_interval=2)
    histories = {"a": [0.9, 0.1],        # best so far 0.9
                 "b": [0.2, 0.3],        # 0.3: the worst
                 "c": [0.4, 0.5, 0.99],  # 0.5 at interval 2
                 "d": [0.6, 0.4]}        # 0.6
    # 50% of 4: 2 canceled (0.3, 0.5); cut at 0.6
    assert policy.evaluate("b", histories, MAX).cancel
    assert not policy.evaluate("a", histories, MAX).cancel
    assert policy.evaluate("d", histories, MAX).threshold == 0.6


def test_truncation_can_leave_finished_runs_out():
    histories = {r: [v] for r, v in zip("abcde", [0.5, 0.6, 0.7, 0.8, 0.1], strict=True)}
    keeping = TruncationSelectionPolicy(truncation_percentage=20, exclude_finished_jobs=True)
    decision = keeping.evaluate("e", histories, MAX, finished={"c", "d"})
    assert decision.compared == 3
    assert not decision.cancel
    counting = TruncationSelectionPolicy(truncation_percentage=20)
    assert counting.evaluate("e", histories, MAX, finished={"c", "d"}).cancel


# -- no termination -----------------------------------------------------------------------------
def test_no_termination_never_decides():
    policy = NoTerminationPolicy()
    assert all(policy.evaluate("b", {"a": [1.0] * n, "b": [0.0] * n}, MAX) is None
               for n in range(1, 6))
    assert policy.to_json() == {"name": "Default"}


# -- decisions are records a canceled child can show -------------------------------------------
def test_a_decision_says_why_with_its_numbers_and_round_trips():
    decision = BanditPolicy(evaluation_interval=2, slack_factor=0.1).evaluate(
        "b", {"a": [0.5, 0.9], "b": [0.3, 0.8]}, MAX)
    assert decision.reason == ("Bandit policy at interval 2: canceled; its best so far 0.8, "
                               "threshold 0.818182 (best / (1 + slack_factor 0.1)), best of "
                               "2 run(s) 0.9")
    assert PolicyDecision.from_json(decision.to_json()) == decision
    assert pickle.loads(pickle.dumps(decision)) == decision


def test_policies_round_trip_through_v1s_form():
    policies = [BanditPolicy(evaluation_interval=2, slack_factor=0.1, delay_evaluation=4),
                BanditPolicy(slack_amount=0.2), MedianStoppingPolicy(1, 5),
                TruncationSelectionPolicy(20, 2, 3, exclude_finished_jobs=True),
                NoTerminationPolicy()]
    assert policies[0].to_json() == {"name": "Bandit", "properties": {
        "evaluation_interval": 2, "delay_evaluation": 4, "slack_factor": 0.1}}
    for policy in policies:
        assert policy_from_json(policy.to_json()) == policy


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("build", "message"), [
    (lambda: BanditPolicy(), "exactly one of slack_factor and slack_amount"),
    (lambda: BanditPolicy(slack_factor=0.1, slack_amount=0.1), "exactly one of"),
    (lambda: BanditPolicy(slack_factor=-0.1), "slack_factor must be a number ≥ 0"),
    (lambda: BanditPolicy(slack_amount="0.1"), "slack_amount must be a number ≥ 0"),
    (lambda: BanditPolicy(evaluation_interval=0, slack_factor=0.1),
     "evaluation_interval must be an int ≥ 1"),
    (lambda: MedianStoppingPolicy(delay_evaluation=-1), "delay_evaluation must be an int ≥ 0"),
    (lambda: MedianStoppingPolicy(evaluation_interval=1.5), "evaluation_interval must be an int"),
    (lambda: TruncationSelectionPolicy(0), "truncation_percentage must be an int from 1 to 99"),
    (lambda: TruncationSelectionPolicy(100), "from 1 to 99"),
    (lambda: TruncationSelectionPolicy(20.0), "from 1 to 99"),
    (lambda: policy_from_json({"name": "Hyperband"}), "unknown policy 'Hyperband'"),
])
def test_a_bad_policy_is_refused(build, message):
    with pytest.raises(ValidationError, match=message):
        build()


def test_an_unknown_goal_is_refused_when_evaluating():
    with pytest.raises(ValidationError, match="unknown primary_metric_goal 'up'"):
        BanditPolicy(slack_factor=0.1).evaluate("a", {"a": [1.0]}, "up")
