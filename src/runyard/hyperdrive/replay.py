"""Replay a policy over a finished sweep's stored metric histories (pure).

Given each child's primary-metric values with the wall time each was logged, `replay`
feeds them to a policy in the order they happened, as the sweep's driver would have:
when a child logs its N-th value, the policy sees every child's values logged up to that
moment. A child the policy stops logs nothing after that moment, so later decisions see
the counterfactual sweep. The report says which children were stopped and when, the
compute-seconds saved (each stopped child's end time minus the moment it was stopped),
and whether the best child of the real sweep would have survived.

What the replay cannot know: children the real sweep never ran (a stopped child frees
its slot earlier, so a real sweep would start the next one sooner), and values that
children stopped in the real sweep never logged.

`parse_policy` reads the CLI form: `'Bandit(evaluation_interval=2, slack_factor=0.1)'`,
`'Median(delay_evaluation=5)'`, `'Truncation(truncation_percentage=20)'`,
`'NoTermination()'` (v1's class names are accepted too).
"""

from __future__ import annotations

import ast
import math
import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from runyard.errors import ValidationError
from runyard.hyperdrive._goal import PrimaryMetricGoal
from runyard.hyperdrive.policy import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PolicyDecision,
    TruncationSelectionPolicy,
)

TERMINAL_STATES = frozenset({"Completed", "Failed", "Canceled"})


@dataclass(frozen=True)
class ChildHistory:
    """One child of a finished sweep: its primary-metric values, the wall time (seconds,
    e.g. since the epoch) each was logged, and when the child started and ended."""

    run_id: str
    values: tuple[float, ...]
    times: tuple[float, ...]
    start_time: float
    end_time: float
    status: str = "Completed"

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        object.__setattr__(self, "times", tuple(float(t) for t in self.times))
        if len(self.values) != len(self.times):
            raise ValidationError(
                f"child {self.run_id!r}: {len(self.values)} value(s) but {len(self.times)} "
                f"time(s); each logged value needs its time", run_id=self.run_id)
        if self.end_time < self.start_time:
            raise ValidationError(f"child {self.run_id!r} ends ({self.end_time}) before it "
                                  f"starts ({self.start_time})", run_id=self.run_id)
        if any(later < earlier for earlier, later in zip(self.times, self.times[1:],
                                                         strict=False)):
            raise ValidationError(f"child {self.run_id!r}: the times of its values go "
                                  f"backwards", run_id=self.run_id)

    @property
    def seconds(self) -> float:
        """The compute-seconds the child took (end − start)."""
        return self.end_time - self.start_time


@dataclass(frozen=True)
class ReplayStop:
    """A child the replayed policy stopped: when, and what it saved."""

    run_id: str
    interval: int
    time: float
    seconds_saved: float
    decision: PolicyDecision


@dataclass(frozen=True)
class ReplayReport:
    """What replaying `policy` over a sweep's histories found."""

    policy: dict[str, Any]
    goal: str
    children: int
    stopped: tuple[ReplayStop, ...]
    compute_seconds: float            # the real sweep's children, start to end
    compute_seconds_replayed: float   # with the stopped children cut at their stop
    best_run_id: str | None           # the real sweep's best child (best over its values)
    best_value: float | None
    best_survived: bool | None        # None when no child logged a value
    best_value_replayed: float | None  # the best value logged before any stop
    decisions: tuple[PolicyDecision, ...] = field(default=())

    @property
    def compute_seconds_saved(self) -> float:
        return self.compute_seconds - self.compute_seconds_replayed

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["compute_seconds_saved"] = self.compute_seconds_saved
        return data


def replay(policy: EarlyTerminationPolicy, children: Iterable[ChildHistory],
           goal: PrimaryMetricGoal | str) -> ReplayReport:
    """Replay `policy` over `children` (see the module doc).

    Example:
        >>> a = ChildHistory("a", (0.8, 0.9), (1.0, 2.0), 0.0, 2.0)
        >>> b = ChildHistory("b", (0.2, 0.3), (1.0, 2.0), 0.0, 10.0)
        >>> report = replay(BanditPolicy(slack_factor=0.1), [a, b], "maximize")
        >>> [s.run_id for s in report.stopped], report.compute_seconds_saved
        (['b'], 9.0)
    """
    goal = PrimaryMetricGoal.from_str(goal)
    children = list(children)
    ids = [child.run_id for child in children]
    if len(set(ids)) != len(ids):
        raise ValidationError("replay: two children have the same run id", run_ids=ids)
    order = {child.run_id: index for index, child in enumerate(children)}
    events = sorted(((time, order[child.run_id], index, child)
                     for child in children for index, time in enumerate(child.times)),
                    key=lambda event: event[:3])
    ends = sorted((c.end_time, c.run_id) for c in children if c.status in TERMINAL_STATES)
    ended = 0
    known: dict[str, list[float]] = {child.run_id: [] for child in children}
    stopped_at: dict[str, ReplayStop] = {}
    decisions: list[PolicyDecision] = []
    finished: set[str] = set()     # ended by this moment, or stopped by the replay
    for time, _, index, child in events:
        if child.run_id in stopped_at:
            continue
        while ended < len(ends) and ends[ended][0] <= time:
            finished.add(ends[ended][1])
            ended += 1
        known[child.run_id].append(child.values[index])
        decision = policy.evaluate(child.run_id, known, goal,
                                   finished=finished - {child.run_id})
        if decision is None:
            continue
        decisions.append(decision)
        if decision.cancel:
            stopped_at[child.run_id] = ReplayStop(child.run_id, decision.interval, time,
                                                  max(0.0, child.end_time - time), decision)
            finished.add(child.run_id)

    compute = sum(child.seconds for child in children)
    replayed = sum((stopped_at[c.run_id].time - c.start_time) if c.run_id in stopped_at
                   else c.seconds for c in children)
    best_id, best_value = _best(children, goal, {c.run_id: list(c.values) for c in children})
    _, replayed_best = _best(children, goal, known)
    return ReplayReport(
        policy=policy.to_json(), goal=goal.value, children=len(children),
        stopped=tuple(sorted(stopped_at.values(), key=lambda stop: stop.time)),
        compute_seconds=compute, compute_seconds_replayed=replayed,
        best_run_id=best_id, best_value=best_value,
        best_survived=None if best_id is None else best_id not in stopped_at,
        best_value_replayed=replayed_best, decisions=tuple(decisions))


def _best(children: Sequence[ChildHistory], goal: PrimaryMetricGoal,
          values: dict[str, list[float]]) -> tuple[str | None, float | None]:
    best_id: str | None = None
    best_value: float | None = None
    for child in children:
        logged = values[child.run_id]
        if not logged:
            continue
        value = goal.best(logged)
        if best_value is None or goal.is_worse(best_value, value):
            best_id, best_value = child.run_id, value
    return best_id, best_value


def estimate_policy_savings(children: Iterable[ChildHistory],
                            stopped: Collection[str]) -> float | None:
    """Compute-seconds a sweep's own policy saved, against running every child to the end.

    The children that ran to the end (status Completed, not in `stopped`) say how long a
    child goes on after its k-th value of the primary metric: for a stopped child that
    logged k values, the saving is the median, over those of them that logged at least k
    values, of the seconds from their k-th value to their end, less what the stopped
    child itself ran after its k-th value (until its cancel took effect). So a long
    startup (a framework's import, a data load) is never counted as saved: it lies before
    the first value. A stopped child that logged no value is counted as the median
    length of the children that ran to the end, less its own. None ("unknown") when no
    child ran to the end, or none of them logged as many values as a stopped child
    (`why_savings_unknown` says which).

    Example (30 s of startup, then a value a second; `s` stopped after 2 values):
        >>> full = [ChildHistory(f"f{n}", (0.9,) * 4, (31, 32, 33, 34), 0, 35)
        ...         for n in range(2)]
        >>> s = ChildHistory("s", (0.1, 0.1), (31, 32), 0, 32.5, "Canceled")
        >>> estimate_policy_savings([*full, s], stopped={"s"})   # (35 - 32) - (32.5 - 32)
        2.5
    """
    children = list(children)
    full = [c for c in children if c.run_id not in stopped and c.status == "Completed"]
    if not full:
        return None
    saved = 0.0
    for child in children:
        if child.run_id not in stopped:
            continue
        k = len(child.values)
        if k == 0:
            saved += max(0.0, statistics.median(c.seconds for c in full) - child.seconds)
            continue
        reached = [c for c in full if len(c.values) >= k]
        if not reached:
            return None
        rest = statistics.median(c.end_time - c.times[k - 1] for c in reached)
        saved += max(0.0, rest - (child.end_time - child.times[k - 1]))
    return saved


def why_savings_unknown(children: Iterable[ChildHistory], stopped: Collection[str]) -> str:
    """Why `estimate_policy_savings` gives None for these children, in words."""
    children = list(children)
    full = [c for c in children if c.run_id not in stopped and c.status == "Completed"]
    if not full:
        return "no child ran to the end"
    most = max((len(c.values) for c in children if c.run_id in stopped), default=0)
    return (f"no child that ran to the end logged {most} value(s) of the primary metric, "
            f"as a stopped child did")


# -- the CLI's policy form ----------------------------------------------------------------
_POLICY_NAMES: dict[str, type[EarlyTerminationPolicy]] = {
    "bandit": BanditPolicy, "banditpolicy": BanditPolicy,
    "median": MedianStoppingPolicy, "medianstopping": MedianStoppingPolicy,
    "medianstoppingpolicy": MedianStoppingPolicy,
    "truncation": TruncationSelectionPolicy, "truncationselection": TruncationSelectionPolicy,
    "truncationselectionpolicy": TruncationSelectionPolicy,
    "notermination": NoTerminationPolicy, "noterminationpolicy": NoTerminationPolicy,
    "default": NoTerminationPolicy,
}


def parse_policy(text: str) -> EarlyTerminationPolicy:
    """A policy from its CLI form, e.g. `'Bandit(evaluation_interval=2, slack_factor=0.1)'`.

    Example:
        >>> parse_policy("Truncation(20, delay_evaluation=5)").truncation_percentage
        20
    """
    usage = ("write a policy like 'Bandit(evaluation_interval=2, slack_factor=0.1)', "
             "'Median(delay_evaluation=5)', 'Truncation(truncation_percentage=20)' or "
             "'NoTermination()'")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ValidationError(f"cannot read policy {text!r}; {usage}", value=text) from None
    if isinstance(tree, ast.Name):   # 'NoTermination' without parentheses
        tree = ast.Call(func=tree, args=[], keywords=[])
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
        raise ValidationError(f"cannot read policy {text!r}; {usage}", value=text)
    cls = _POLICY_NAMES.get(tree.func.id.lower())
    if cls is None:
        raise ValidationError(f"unknown policy {tree.func.id!r}; {usage}", value=text,
                              valid=["Bandit", "Median", "Truncation", "NoTermination"])
    try:
        args = [ast.literal_eval(arg) for arg in tree.args]
        kwargs: dict[str, Any] = {}
        for keyword in tree.keywords:
            if keyword.arg is None:
                raise ValueError("**")
            kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    except ValueError:
        raise ValidationError(f"policy {text!r}: arguments must be plain numbers or "
                              f"True/False; {usage}", value=text) from None
    try:
        return cls(*args, **kwargs)
    except TypeError as error:
        raise ValidationError(f"policy {text!r}: {error}; {usage}", value=text) from None


def format_report(report: ReplayReport, metric: str = "primary metric") -> str:
    """The report as the CLI prints it."""
    lines = [f"replayed {report.policy['name']} over {report.children} child run(s) "
             f"({report.goal.lower()} {metric})"]
    for stop in report.stopped:
        lines.append(f"  would stop {stop.run_id} at interval {stop.interval}, saving "
                     f"{stop.seconds_saved:.1f} s: {stop.decision.reason}")
    if not report.stopped:
        lines.append("  would stop no child")
    share = (report.compute_seconds_saved / report.compute_seconds * 100
             if report.compute_seconds > 0 else 0.0)
    lines.append(f"compute-seconds: {report.compute_seconds:.1f} → "
                 f"{report.compute_seconds_replayed:.1f} (saved "
                 f"{report.compute_seconds_saved:.1f}, {share:.0f}%)")
    if report.best_run_id is None:
        lines.append(f"no child logged {metric}")
    else:
        verdict = "survives" if report.best_survived else "would have been stopped"
        lines.append(f"best child {report.best_run_id} ({metric} {report.best_value:.6g}) "
                     f"{verdict}; best value kept: {_maybe(report.best_value_replayed)}")
    return "\n".join(lines)


def _maybe(value: float | None) -> str:
    return "none" if value is None or math.isnan(value) else f"{value:.6g}"
