"""Early-termination policies (v1's), as pure functions over primary-metric histories.

Vocabulary, as v1: one **interval** is one logging of the primary metric, so a run that
has logged 4 values is at interval 4. A policy **applies** at interval N when N is a
multiple of `evaluation_interval` and N ≥ `delay_evaluation`. Each time a run logs, the
sweep's driver calls `policy.evaluate(run_id, histories, goal)` with every run's values
as known at that moment; the answer is None where the policy does not apply, else a
`PolicyDecision` (cancel or keep) holding the numbers it was decided on, so a canceled
child can say why.

At interval N every run's history is read up to N only ("a run is compared with the
performance of other runs up to interval N, even if they reported more"), and a run's
**performance at N** is its best value among its first N (v1: "its best primary metric
reported up to interval N"). NaN counts as the worst value. All comparisons are strict:
a run is canceled only when it is *worse* than the threshold, so a tie survives.

- `BanditPolicy`: threshold from the best performance at N over all runs. MAXIMIZE (v1):
  best / (1 + slack_factor) or best − slack_amount. MINIMIZE (v1 never documented it;
  runyard's choice, the mirror rule): best · (1 + slack_factor) or best + slack_amount.
  For a negative best the factor applies to the magnitude (MAXIMIZE best · (1 + s),
  MINIMIZE best / (1 + s)), so the threshold is always on the worse side of the best —
  with v1's formula a negative best would cancel the best run itself.
- `MedianStoppingPolicy`: threshold = the median, over the runs that have reached
  interval N (the run itself included), of each run's running average of its first N
  values (not Optuna's MedianPruner, which compares finished trials at one step).
- `TruncationSelectionPolicy`: among the runs that have reached N (without the finished
  ones when `exclude_finished_jobs`), the lowest `truncation_percentage` percent by
  performance at N are canceled: k = floor(n × percentage / 100) runs (none while n is
  too small for one), and a run is canceled when it is worse than the k+1-th worst
  performance (the threshold), so ties at the cut survive.
- `NoTerminationPolicy`: never cancels.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from runyard.errors import ValidationError
from runyard.hyperdrive._goal import PrimaryMetricGoal

Histories = Mapping[str, Sequence[float]]


@dataclass(frozen=True)
class PolicyDecision:
    """What a policy decided for one run at one interval, with the numbers.

    `value` is the run's performance at the interval (its best so far), `best` the best
    performance of all compared runs, `threshold` the value the run had to reach (None
    when the policy could not cancel anyone, e.g. too few runs for truncation),
    `compared` how many runs the decision looked at.
    """

    policy: str
    run_id: str
    interval: int
    goal: str
    value: float
    best: float
    threshold: float | None
    cancel: bool
    compared: int
    rule: str

    @property
    def reason(self) -> str:
        """One line a canceled child shows: the policy, the interval and the numbers."""
        verdict = "canceled" if self.cancel else "kept"
        threshold = "none" if self.threshold is None else _fmt(self.threshold)
        return (f"{self.policy} policy at interval {self.interval}: {verdict}; its best so far "
                f"{_fmt(self.value)}, threshold {threshold} ({self.rule}), best of "
                f"{self.compared} run(s) {_fmt(self.best)}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PolicyDecision:
        return cls(**dict(data))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _interval_arg(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be an int ≥ {minimum}, not {value!r}",
                              parameter=name, value=value)
    return value


class EarlyTerminationPolicy(ABC):
    """Base of the policies: v1's `to_json()` shape and the applies-at rule."""

    POLICY_NAME: ClassVar[str]

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        self._evaluation_interval = _interval_arg("evaluation_interval", evaluation_interval, 1)
        self._delay_evaluation = _interval_arg("delay_evaluation", delay_evaluation, 0)

    @property
    def evaluation_interval(self) -> int:
        """How often (in loggings of the primary metric) the policy applies."""
        return self._evaluation_interval

    @property
    def delay_evaluation(self) -> int:
        """The policy applies only at intervals ≥ this."""
        return self._delay_evaluation

    def applies_at(self, interval: int) -> bool:
        """True at multiples of `evaluation_interval` that are ≥ `delay_evaluation`."""
        return (interval >= 1 and interval % self._evaluation_interval == 0
                and interval >= self._delay_evaluation)

    def _properties(self) -> dict[str, Any] | None:
        return {"evaluation_interval": self._evaluation_interval,
                "delay_evaluation": self._delay_evaluation}

    def to_json(self) -> dict[str, Any]:
        """v1's form: {"name": "Bandit", "properties": {...}}."""
        data: dict[str, Any] = {"name": self.POLICY_NAME}
        properties = self._properties()
        if properties is not None:
            data["properties"] = properties
        return data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in (self._properties() or {}).items())
        return f"{type(self).__name__}({arguments})"

    def evaluate(self, run_id: str, histories: Histories, goal: PrimaryMetricGoal | str, *,
                 finished: Collection[str] = ()) -> PolicyDecision | None:
        """The decision for `run_id` at its current interval, or None where the policy
        does not apply.

        Args:
            run_id: the run that has just logged its primary metric.
            histories: every run's primary-metric values so far, in logging order
                (`run_id` among them).
            goal: PrimaryMetricGoal (or "maximize" / "minimize").
            finished: runs that have ended (only TruncationSelection with
                `exclude_finished_jobs` uses it).
        """
        goal = PrimaryMetricGoal.from_str(goal)
        if run_id not in histories:
            raise ValidationError(f"run {run_id!r} has no history among {sorted(histories)}",
                                  run_id=run_id)
        interval = len(histories[run_id])
        if not self.applies_at(interval):
            return None
        return self._decide(run_id, interval, histories, goal, finished)

    @abstractmethod
    def _decide(self, run_id: str, interval: int, histories: Histories,
                goal: PrimaryMetricGoal, finished: Collection[str]) -> PolicyDecision | None:
        """The decision at an interval where the policy applies."""


def _performance(goal: PrimaryMetricGoal, values: Sequence[float], interval: int) -> float:
    return goal.best(values[:interval])


class BanditPolicy(EarlyTerminationPolicy):
    """Cancel a run whose best so far is not within the slack of the best run's.

    Exactly one of `slack_factor` (a ratio) and `slack_amount` (an absolute distance).

    Example:
        >>> policy = BanditPolicy(evaluation_interval=2, slack_factor=0.1)
        >>> policy.evaluate("b", {"a": [0.9, 0.95], "b": [0.5, 0.6]}, "maximize").cancel
        True
    """

    POLICY_NAME = "Bandit"

    def __init__(self, evaluation_interval: int = 1, slack_factor: float | None = None,
                 slack_amount: float | None = None, delay_evaluation: int = 0) -> None:
        super().__init__(evaluation_interval, delay_evaluation)
        if (slack_factor is None) == (slack_amount is None):
            raise ValidationError(
                "BanditPolicy needs exactly one of slack_factor and slack_amount "
                f"(got slack_factor={slack_factor!r}, slack_amount={slack_amount!r})",
                parameter="slack_factor, slack_amount")
        for name, value in (("slack_factor", slack_factor), ("slack_amount", slack_amount)):
            if value is None:
                continue
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value < 0):
                raise ValidationError(f"BanditPolicy: {name} must be a number ≥ 0, not "
                                      f"{value!r}", parameter=name, value=value)
        self._slack_factor = slack_factor
        self._slack_amount = slack_amount

    @property
    def slack_factor(self) -> float | None:
        """The allowed distance from the best run, as a ratio."""
        return self._slack_factor

    @property
    def slack_amount(self) -> float | None:
        """The allowed distance from the best run, as an absolute amount."""
        return self._slack_amount

    def _properties(self) -> dict[str, Any]:
        properties = super()._properties() or {}
        if self._slack_factor is not None:
            properties["slack_factor"] = self._slack_factor
        else:
            properties["slack_amount"] = self._slack_amount
        return properties

    def threshold(self, best: float, goal: PrimaryMetricGoal) -> tuple[float, str]:
        """The value a run must reach given the best run's, and the rule in words."""
        maximize = goal is PrimaryMetricGoal.MAXIMIZE
        if self._slack_amount is not None:
            amount = self._slack_amount
            if maximize:
                return best - amount, f"best − slack_amount {amount:g}"
            return best + amount, f"best + slack_amount {amount:g}"
        factor = 1.0 + float(self._slack_factor or 0.0)
        shrink = maximize == (best >= 0)
        if shrink:
            return best / factor, f"best / (1 + slack_factor {self._slack_factor:g})"
        return best * factor, f"best × (1 + slack_factor {self._slack_factor:g})"

    def _decide(self, run_id: str, interval: int, histories: Histories,
                goal: PrimaryMetricGoal, finished: Collection[str]  # noqa: ARG002
                ) -> PolicyDecision:
        own = _performance(goal, histories[run_id], interval)
        compared = [values for values in histories.values() if len(values) > 0]
        best = goal.best(_performance(goal, values, interval) for values in compared)
        threshold, rule = self.threshold(best, goal)
        return PolicyDecision(self.POLICY_NAME, run_id, interval, goal.value, own, best,
                              threshold, goal.is_worse(own, threshold), len(compared), rule)


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Cancel a run whose best so far is worse than the median of the running averages
    of all runs at that interval.

    Example:
        >>> policy = MedianStoppingPolicy()
        >>> histories = {"a": [0.9], "b": [0.8], "c": [0.2]}
        >>> policy.evaluate("c", histories, "maximize").cancel
        True
    """

    POLICY_NAME = "MedianStopping"

    def _decide(self, run_id: str, interval: int, histories: Histories,
                goal: PrimaryMetricGoal, finished: Collection[str]  # noqa: ARG002
                ) -> PolicyDecision:
        own = _performance(goal, histories[run_id], interval)
        reached = [values for values in histories.values() if len(values) >= interval]
        averages = [statistics.fmean(goal.score(float(v)) for v in values[:interval])
                    for values in reached]
        median = statistics.median(averages)
        best = goal.best(_performance(goal, values, interval) for values in reached)
        rule = f"median of {len(reached)} running average(s) of the first {interval} value(s)"
        return PolicyDecision(self.POLICY_NAME, run_id, interval, goal.value, own, best,
                              median, goal.is_worse(own, median), len(reached), rule)


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """Cancel the lowest `truncation_percentage` percent of runs at each evaluation.

    Example:
        >>> policy = TruncationSelectionPolicy(truncation_percentage=20)
        >>> histories = {r: [v] for r, v in zip("abcde", [0.5, 0.6, 0.7, 0.8, 0.1])}
        >>> policy.evaluate("e", histories, "maximize").cancel
        True
    """

    POLICY_NAME = "TruncationSelection"

    def __init__(self, truncation_percentage: int, evaluation_interval: int = 1,
                 delay_evaluation: int = 0, exclude_finished_jobs: bool = False) -> None:
        super().__init__(evaluation_interval, delay_evaluation)
        if (isinstance(truncation_percentage, bool) or not isinstance(truncation_percentage, int)
                or not 1 <= truncation_percentage <= 99):
            raise ValidationError(f"truncation_percentage must be an int from 1 to 99, not "
                                  f"{truncation_percentage!r}", parameter="truncation_percentage",
                                  value=truncation_percentage)
        if not isinstance(exclude_finished_jobs, bool):
            raise ValidationError(f"exclude_finished_jobs must be True or False, not "
                                  f"{exclude_finished_jobs!r}", parameter="exclude_finished_jobs")
        self._truncation_percentage = truncation_percentage
        self._exclude_finished_jobs = exclude_finished_jobs

    @property
    def truncation_percentage(self) -> int:
        """The percentage of the lowest runs canceled at each evaluation."""
        return self._truncation_percentage

    @property
    def exclude_finished_jobs(self) -> bool:
        """Whether finished runs are left out of the ranking."""
        return self._exclude_finished_jobs

    def _properties(self) -> dict[str, Any]:
        properties = super()._properties() or {}
        properties["truncation_percentage"] = self._truncation_percentage
        properties["exclude_finished_jobs"] = self._exclude_finished_jobs
        return properties

    def _decide(self, run_id: str, interval: int, histories: Histories,
                goal: PrimaryMetricGoal, finished: Collection[str]) -> PolicyDecision:
        own = _performance(goal, histories[run_id], interval)
        finished = set(finished) if self._exclude_finished_jobs else set()
        performances = [_performance(goal, values, interval)
                        for other, values in histories.items()
                        if len(values) >= interval and (other == run_id or other not in finished)]
        count = len(performances) * self._truncation_percentage // 100
        best = goal.best(performances)
        rule = (f"lowest {self._truncation_percentage}% of {len(performances)} run(s) at this "
                f"interval: {count} canceled")
        if count == 0:
            return PolicyDecision(self.POLICY_NAME, run_id, interval, goal.value, own, best,
                                  None, False, len(performances), rule)
        threshold = goal.worst_first(performances)[count]
        return PolicyDecision(self.POLICY_NAME, run_id, interval, goal.value, own, best,
                              threshold, goal.is_worse(own, threshold), len(performances), rule)


class NoTerminationPolicy(EarlyTerminationPolicy):
    """No early termination: every run goes to its end (v1's name "Default")."""

    POLICY_NAME = "Default"

    def __init__(self) -> None:
        super().__init__()

    def _properties(self) -> None:
        return None

    def applies_at(self, interval: int) -> bool:  # noqa: ARG002
        return False

    def _decide(self, run_id: str, interval: int, histories: Histories,  # noqa: ARG002
                goal: PrimaryMetricGoal, finished: Collection[str]) -> None:  # noqa: ARG002
        return None


_POLICIES: dict[str, type[EarlyTerminationPolicy]] = {
    cls.POLICY_NAME.lower(): cls
    for cls in (BanditPolicy, MedianStoppingPolicy, TruncationSelectionPolicy,
                NoTerminationPolicy)}


def policy_from_json(data: Mapping[str, Any] | None) -> EarlyTerminationPolicy:
    """Rebuild a policy from its `to_json()` form (v1's {"name", "properties"})."""
    if data is None:
        return NoTerminationPolicy()
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ValidationError(f"a stored policy is a dict with a 'name', not {data!r}",
                              value=data)
    cls = _POLICIES.get(data["name"].lower())
    if cls is None:
        raise ValidationError(f"unknown policy {data['name']!r}; valid: "
                              f"{', '.join(c.POLICY_NAME for c in _POLICIES.values())}",
                              value=data["name"])
    if cls is NoTerminationPolicy:
        return NoTerminationPolicy()
    return cls(**dict(data.get("properties") or {}))
