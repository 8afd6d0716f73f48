"""Replaying a policy over a finished sweep's stored histories, and the CLI policy form."""

from __future__ import annotations

import pytest

from runyard.errors import ValidationError
from runyard.hyperdrive import (
    BanditPolicy,
    ChildHistory,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    TruncationSelectionPolicy,
    estimate_policy_savings,
    format_report,
    parse_policy,
    replay,
)
from runyard.hyperdrive.replay import why_savings_unknown


def _child(run_id, values, start=0.0, every=10.0, status="Completed"):
    """A child that logs one value every `every` seconds from `start` and ends at its last."""
    times = tuple(start + every * (i + 1) for i in range(len(values)))
    return ChildHistory(run_id, tuple(values), times, start, times[-1] if times else start,
                        status)


def test_replay_reports_who_is_stopped_when_and_the_seconds_saved():
    children = [_child("hd_0", [0.6, 0.8, 0.9, 0.92]),
                _child("hd_1", [0.3, 0.4, 0.45, 0.5]),       # far behind: stopped at 2
                _child("hd_2", [0.55, 0.79, 0.85, 0.88], start=5.0)]
    report = replay(BanditPolicy(evaluation_interval=2, slack_factor=0.1), children, "maximize")
    assert [(s.run_id, s.interval, s.time) for s in report.stopped] == [("hd_1", 2, 20.0)]
    stop = report.stopped[0]
    assert stop.seconds_saved == 20.0                         # ran to 40 s, stopped at 20 s
    assert stop.decision.best == 0.8
    assert stop.decision.threshold == pytest.approx(0.8 / 1.1)
    assert report.compute_seconds == 120.0
    assert report.compute_seconds_replayed == 100.0
    assert report.compute_seconds_saved == 20.0
    assert (report.best_run_id, report.best_value, report.best_survived) == ("hd_0", 0.92, True)
    assert report.best_value_replayed == 0.92


def test_replay_says_when_the_best_child_would_not_have_survived():
    children = [_child("steady", [0.8, 0.85, 0.86]),
                _child("late_bloomer", [0.1, 0.2, 0.95])]
    report = replay(BanditPolicy(slack_factor=0.1), children, PrimaryMetricGoal.MAXIMIZE)
    assert [s.run_id for s in report.stopped] == ["late_bloomer"]
    assert report.best_run_id == "late_bloomer"
    assert report.best_survived is False
    assert report.best_value_replayed == 0.86
    text = format_report(report, "validation_acc")
    assert "would stop late_bloomer at interval 1, saving 20.0 s" in text
    assert "best child late_bloomer (validation_acc 0.95) would have been stopped" in text


def test_replay_minimize_with_median_stopping():
    children = [_child("a", [0.8, 0.6, 0.5]),         # averages at 2: 0.7
                _child("b", [0.5, 0.3, 0.2]),         # 0.4
                _child("c", [0.9, 0.75, 0.7], start=1.0)]  # 0.825; best 0.75 > 0.7
    report = replay(MedianStoppingPolicy(evaluation_interval=2), children, "minimize")
    assert [(s.run_id, s.interval) for s in report.stopped] == [("c", 2)]
    assert report.stopped[0].seconds_saved == 10.0
    assert report.best_run_id == "b"
    assert report.best_survived


def test_a_stopped_child_logs_nothing_afterwards_in_the_replay():
    # c logs after the four others (it started 1 s later), so it is ranked among 5 runs:
    # 20% of 5 → 1, and it is the worst; its later, high value is never seen
    children = [_child(r, v, start=1.0 if r == "c" else 0.0)
                for r, v in [("a", [0.5, 0.5]), ("b", [0.6, 0.6]), ("c", [0.1, 0.99]),
                             ("d", [0.7, 0.7]), ("e", [0.8, 0.8])]]
    report = replay(TruncationSelectionPolicy(20), children, "maximize")
    assert [(s.run_id, s.interval, s.time) for s in report.stopped] == [("c", 1, 11.0)]
    assert report.best_run_id == "c"
    assert not report.best_survived
    assert report.best_value_replayed == 0.8


def test_the_replay_sees_only_what_was_logged_by_then():
    # the same curves, c logging first: it is ranked among 1 run, nobody can be cut
    children = [_child(r, v, start=-1.0 if r == "c" else 0.0)
                for r, v in [("a", [0.5]), ("b", [0.6]), ("c", [0.1]), ("d", [0.7]),
                             ("e", [0.8])]]
    report = replay(TruncationSelectionPolicy(20), children, "maximize")
    assert report.stopped == ()
    assert report.decisions[0].run_id == "c"
    assert report.decisions[0].compared == 1


def test_replay_tells_truncation_which_children_had_finished():
    children = [_child("a", [0.9]),                       # ends at 10 s
                _child("b", [0.5], every=20.0), _child("c", [0.6], every=20.0)]
    counting = replay(TruncationSelectionPolicy(50), children, "maximize")
    assert [s.run_id for s in counting.stopped] == ["b"]   # ranked with a: cut at 0.9
    leaving_out = replay(TruncationSelectionPolicy(50, exclude_finished_jobs=True), children,
                         "maximize")
    assert leaving_out.stopped == ()                       # b alone, then b and c: c is the cut


def test_no_termination_replays_to_no_savings():
    report = replay(NoTerminationPolicy(), [_child("a", [0.1, 0.2]), _child("b", [0.3])],
                    "maximize")
    assert report.stopped == ()
    assert report.compute_seconds_saved == 0.0
    assert report.to_json()["compute_seconds_saved"] == 0.0


def test_replay_of_children_without_the_metric():
    report = replay(BanditPolicy(slack_factor=0.1), [_child("a", [])], "maximize")
    assert report.best_run_id is None
    assert report.best_survived is None
    assert "no child logged validation_acc" in format_report(report, "validation_acc")


def test_bad_histories_are_refused():
    with pytest.raises(ValidationError, match=r"2 value\(s\) but 1 time\(s\)"):
        ChildHistory("a", (0.1, 0.2), (1.0,), 0.0, 2.0)
    with pytest.raises(ValidationError, match=r"ends .* before it starts"):
        ChildHistory("a", (), (), 5.0, 1.0)
    with pytest.raises(ValidationError, match="go backwards"):
        ChildHistory("a", (0.1, 0.2), (2.0, 1.0), 0.0, 3.0)
    with pytest.raises(ValidationError, match="same run id"):
        replay(NoTerminationPolicy(), [_child("a", [0.1]), _child("a", [0.2])], "maximize")


def test_the_parents_own_savings_are_estimated_from_children_that_ran_to_the_end():
    children = [_child("a", [0.1] * 10), _child("b", [0.2] * 10),
                _child("c", [0.3] * 4, every=5.0, status="Canceled"),   # 4 of 10, 5 s each
                _child("d", [0.4] * 2, status="Failed")]                # not the policy's
    # c logged 4 values; a and b ran 60 s after their 4th value (40 s) to their end (100 s)
    assert estimate_policy_savings(children, stopped={"c"}) == 60.0
    assert estimate_policy_savings([children[2]], stopped={"c"}) is None


def _startup_child(run_id, startup, values, every=1.0, tail=1.0, status="Completed"):
    """A child that starts at 0, spends `startup` s before its first value, then logs a
    value every `every` s and ends `tail` s after its last."""
    times = tuple(startup + every * i for i in range(len(values)))
    return ChildHistory(run_id, tuple(values), times, 0.0, times[-1] + tail, status)


# MNIST-like: 30-40 s of TensorFlow's start, then four epochs of about a second each
FULL = [_startup_child("f0", 31.0, [0.9] * 4),                  # 2nd value at 32, ends at 35
        _startup_child("f1", 40.0, [0.95] * 4, every=2.0),      # 2nd at 42, ends at 47
        _startup_child("f2", 35.0, [0.92] * 4, tail=2.0)]       # 2nd at 36, ends at 40


def test_the_parents_savings_count_no_startup_when_it_dominates():
    # three children stopped after their 2nd value, their cancel effective 0.5 s later
    stopped = [_startup_child(f"s{n}", 30.0 + n, [0.1, 0.1], tail=0.5, status="Canceled")
               for n in range(3)]
    children = [*FULL, *stopped]
    names = {c.run_id for c in stopped}
    # from the 2nd value to the end: f0 3 s, f1 5 s, f2 4 s; median 4 s, less the 0.5 s
    # each stopped child ran after its 2nd value: 3.5 s each (spreading each stopped
    # child's ~31 s over its 2 values, the old estimate, said ~32 s each)
    assert estimate_policy_savings(children, stopped=names) == pytest.approx(3 * 3.5)
    # only the children that logged k values count: after its 4th value, f0 ran 1 s,
    # f1 1 s, f2 2 s (median 1 s)
    late = _startup_child("late", 30.0, [0.1] * 4, tail=0.25, status="Canceled")
    assert estimate_policy_savings([*FULL, late], stopped={"late"}) == pytest.approx(0.75)
    # a stopped child that logged no value: the median length of a full child (40 s)
    early = ChildHistory("early", (), (), 0.0, 12.0, "Canceled")
    assert estimate_policy_savings([*FULL, early], stopped={"early"}) == pytest.approx(28.0)


def test_the_parents_savings_are_unknown_when_no_finished_child_says_how_long():
    many = _startup_child("many", 30.0, [0.1] * 5, status="Canceled")   # more than f*
    assert estimate_policy_savings([*FULL, many], stopped={"many"}) is None
    assert why_savings_unknown([*FULL, many], {"many"}) == (
        "no child that ran to the end logged 5 value(s) of the primary metric, as a "
        "stopped child did")
    alone = _startup_child("s", 30.0, [0.1, 0.1], status="Canceled")
    failed = _startup_child("x", 30.0, [0.2] * 4, status="Failed")   # did not run to the end
    assert estimate_policy_savings([alone, failed], stopped={"s"}) is None
    assert why_savings_unknown([alone, failed], {"s"}) == "no child ran to the end"


def test_replay_saves_each_stopped_childs_own_remaining_seconds_exactly():
    """Replay stops children that ran to the end: it knows their real end, so what a stop
    saves is that child's own rest, startup never counted."""
    bad = [_startup_child("b0", 30.0, [0.1] * 4), _startup_child("b1", 38.0, [0.2] * 4,
                                                                  every=3.0, tail=4.0)]
    report = replay(BanditPolicy(evaluation_interval=2, slack_factor=0.1), [*FULL, *bad],
                    "maximize")
    assert [(s.run_id, s.interval, s.time, s.seconds_saved) for s in report.stopped] == [
        ("b0", 2, 31.0, 3.0),       # its 2nd value at 31 s, its end at 34 s
        ("b1", 2, 41.0, 10.0)]      # its 2nd value at 41 s, its end at 51 s (44 + 3 + 4)
    assert report.compute_seconds == 35 + 47 + 40 + 34 + 51
    assert report.compute_seconds_saved == 13.0


# -- the CLI form ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("Bandit(evaluation_interval=2, slack_factor=0.1)",
     BanditPolicy(evaluation_interval=2, slack_factor=0.1)),
    ("BanditPolicy(slack_amount=0.2, delay_evaluation=5)",
     BanditPolicy(slack_amount=0.2, delay_evaluation=5)),
    ("Median()", MedianStoppingPolicy()),
    ("MedianStopping(evaluation_interval=1, delay_evaluation=5)", MedianStoppingPolicy(1, 5)),
    ("Truncation(truncation_percentage=20)", TruncationSelectionPolicy(20)),
    ("  truncation(20, exclude_finished_jobs=True) ",
     TruncationSelectionPolicy(20, exclude_finished_jobs=True)),
    ("NoTermination()", NoTerminationPolicy()),
    ("NoTermination", NoTerminationPolicy()),
])
def test_parse_policy_reads_the_cli_form(text, expected):
    assert parse_policy(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("Hyperband(eta=3)", "unknown policy 'Hyperband'"),
    ("Bandit(slack_factor=", "cannot read policy"),
    ("Bandit(slack_factor=x)", "arguments must be plain numbers"),
    ("Bandit(**{'slack_factor': 0.1})", "arguments must be plain numbers"),
    ("Bandit(evaluation_interval=2)", "exactly one of slack_factor and slack_amount"),
    ("Median(slack=1)", "unexpected keyword argument 'slack'"),
    ("os.system('ls')", "cannot read policy"),
    ("Truncation(150)", "truncation_percentage must be an int from 1 to 99"),
])
def test_parse_policy_refuses_what_it_cannot_build(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_policy(text)
