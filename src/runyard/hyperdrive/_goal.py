"""PrimaryMetricGoal, and what "better" and "worst" mean for each goal."""

from __future__ import annotations

import enum
import math
from typing import Any

from runyard.errors import ValidationError


class PrimaryMetricGoal(enum.Enum):
    """Whether a higher (MAXIMIZE) or lower (MINIMIZE) primary metric is better (v1's enum).

    Example:
        >>> PrimaryMetricGoal.from_str("maximize")
        <PrimaryMetricGoal.MAXIMIZE: 'MAXIMIZE'>
    """

    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"

    @staticmethod
    def from_str(goal: Any) -> PrimaryMetricGoal:
        """The goal for "maximize"/"minimize" (any case), or a goal passed through."""
        if isinstance(goal, PrimaryMetricGoal):
            return goal
        if isinstance(goal, str):
            for member in PrimaryMetricGoal:
                if goal.strip().lower() == member.name.lower():
                    return member
        raise ValidationError(
            f"unknown primary_metric_goal {goal!r}; use PrimaryMetricGoal.MAXIMIZE or "
            f"PrimaryMetricGoal.MINIMIZE ('maximize' or 'minimize')",
            value=goal, valid=["MAXIMIZE", "MINIMIZE"])

    # -- comparisons the policies share ---------------------------------------------------
    def score(self, value: float) -> float:
        """`value` with NaN read as the worst possible value (a diverged run is worst)."""
        if math.isnan(value):
            return -math.inf if self is PrimaryMetricGoal.MAXIMIZE else math.inf
        return value

    def is_worse(self, value: float, than: float) -> bool:
        """True when `value` is strictly worse than `than`."""
        return value < than if self is PrimaryMetricGoal.MAXIMIZE else value > than

    def best(self, values: Any) -> float:
        """The best of `values` (NaN counted as worst)."""
        scores = [self.score(float(v)) for v in values]
        return max(scores) if self is PrimaryMetricGoal.MAXIMIZE else min(scores)

    def worst_first(self, values: Any) -> list[float]:
        """`values` sorted from the worst to the best."""
        scores = [self.score(float(v)) for v in values]
        return sorted(scores, reverse=self is PrimaryMetricGoal.MINIMIZE)
