"""HyperDriveConfig: what a sweep is, checked in full when it is built.

Every bad input is refused here, with a `ValidationError` (a `ValueError`) that names the
argument and the value, so a mistake costs nothing: no parent run, no child, no file.
The limits are v1's service limits: 1 to 1000 runs, 1 to 100 concurrent, at most 10080
minutes (v1's client warned and clamped a longer duration; runyard refuses it).

`to_json()` holds the parts a driver in another process needs (the sampling, the policy,
the primary metric and the limits) in v1's tag shapes (`generator_config`,
`policy_config`, `primary_metric_config`); the estimator or run_config travels as the
child's ordinary run spec.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

from runyard.errors import NotSupportedError, ValidationError
from runyard.hyperdrive._goal import PrimaryMetricGoal
from runyard.hyperdrive.policy import EarlyTerminationPolicy, NoTerminationPolicy, policy_from_json
from runyard.hyperdrive.sampling import (
    BayesianParameterSampling,
    HyperParameterSampling,
    ParameterSampler,
    sampling_from_json,
)

MAX_TOTAL_RUNS = 1000
MAX_CONCURRENT_RUNS = 100
MAX_DURATION_MINUTES = 10080

__all__ = ["MAX_CONCURRENT_RUNS", "MAX_DURATION_MINUTES", "MAX_TOTAL_RUNS", "HyperDriveConfig",
           "PrimaryMetricGoal"]


def _count(name: str, value: Any, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an int from 1 to {maximum}, not {value!r}",
                              parameter=name, value=value)
    if not 1 <= value <= maximum:
        raise ValidationError(f"{name}={value} is outside v1's limits: 1 to {maximum}",
                              parameter=name, value=value)
    return value


class HyperDriveConfig:
    """A hyperparameter sweep: sampling, primary metric and goal, budget, policy, and the
    estimator or run_config each child runs with its sampled arguments.

    Example:
        >>> from runyard.hyperdrive import (BanditPolicy, RandomParameterSampling, choice,
        ...                                 loguniform)
        >>> from runyard.train import ScriptRunConfig
        >>> config = HyperDriveConfig(
        ...     run_config=ScriptRunConfig(source_directory=".", script="train.py"),
        ...     hyperparameter_sampling=RandomParameterSampling(
        ...         {"--batch-size": choice(25, 50, 100), "--learning-rate": loguniform(-6, -1)}),
        ...     policy=BanditPolicy(evaluation_interval=2, slack_factor=0.1),
        ...     primary_metric_name="validation_acc",
        ...     primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        ...     max_total_runs=8, max_concurrent_runs=2)
        >>> config.max_concurrent_runs
        2
    """

    def __init__(self, hyperparameter_sampling: HyperParameterSampling,
                 primary_metric_name: str, primary_metric_goal: PrimaryMetricGoal | str,
                 max_total_runs: int, max_concurrent_runs: int | None = None,
                 max_duration_minutes: int | float = MAX_DURATION_MINUTES,
                 policy: EarlyTerminationPolicy | None = None, estimator: Any = None,
                 run_config: Any = None, resume_from: Any = None,
                 resume_child_runs: Any = None) -> None:
        self._check_target(estimator, run_config)
        if not isinstance(hyperparameter_sampling, HyperParameterSampling):
            raise ValidationError(
                f"hyperparameter_sampling must be a RandomParameterSampling, "
                f"GridParameterSampling or BayesianParameterSampling, not "
                f"{type(hyperparameter_sampling).__name__}", parameter="hyperparameter_sampling")
        if not isinstance(primary_metric_name, str) or not primary_metric_name.strip():
            raise ValidationError(f"primary_metric_name must be the name of a metric the "
                                  f"script logs, not {primary_metric_name!r}",
                                  parameter="primary_metric_name", value=primary_metric_name)
        goal = PrimaryMetricGoal.from_str(primary_metric_goal)
        max_total_runs = _count("max_total_runs", max_total_runs, MAX_TOTAL_RUNS)
        if max_concurrent_runs is None:
            # v1: None launches every run at once; its service capped concurrency at 100
            max_concurrent_runs = min(max_total_runs, MAX_CONCURRENT_RUNS)
        max_concurrent_runs = _count("max_concurrent_runs", max_concurrent_runs,
                                     MAX_CONCURRENT_RUNS)
        if max_concurrent_runs > max_total_runs:
            raise ValidationError(
                f"max_concurrent_runs={max_concurrent_runs} is more than "
                f"max_total_runs={max_total_runs}; at most {max_total_runs} can run at once",
                parameter="max_concurrent_runs", value=max_concurrent_runs)
        if (isinstance(max_duration_minutes, bool)
                or not isinstance(max_duration_minutes, int | float)
                or not math.isfinite(max_duration_minutes)
                or not 0 < max_duration_minutes <= MAX_DURATION_MINUTES):
            raise ValidationError(
                f"max_duration_minutes must be a number above 0 and at most "
                f"{MAX_DURATION_MINUTES} (7 days, v1's limit), not {max_duration_minutes!r}",
                parameter="max_duration_minutes", value=max_duration_minutes)
        if policy is None:
            policy = NoTerminationPolicy()
        if not isinstance(policy, EarlyTerminationPolicy):
            raise ValidationError(
                f"policy must be a BanditPolicy, MedianStoppingPolicy, "
                f"TruncationSelectionPolicy, NoTerminationPolicy or None, not "
                f"{type(policy).__name__}", parameter="policy")
        is_bayesian = isinstance(hyperparameter_sampling, BayesianParameterSampling)
        if is_bayesian and not isinstance(policy, NoTerminationPolicy):
            raise ValidationError(
                f"BayesianParameterSampling does not support early termination (as v1); "
                f"remove the {type(policy).__name__} or use NoTerminationPolicy()",
                parameter="policy", value=policy.to_json())
        if resume_from is not None or resume_child_runs is not None:
            raise NotSupportedError(
                "HyperDriveConfig: resume_from and resume_child_runs (warm start) are not "
                "supported yet; start a new sweep", name="resume_from")

        self._hyperparameter_sampling = hyperparameter_sampling
        self._primary_metric_name = primary_metric_name
        self._primary_metric_goal = goal
        self._max_total_runs = max_total_runs
        self._max_concurrent_runs = max_concurrent_runs
        self._max_duration_minutes = max_duration_minutes
        self._policy = policy
        self._estimator = estimator
        self._run_config = run_config
        self._resume_from = None
        self._resume_child_runs = None

        if is_bayesian:
            self._warn_bayesian()

    @staticmethod
    def _check_target(estimator: Any, run_config: Any) -> None:
        if (estimator is None) == (run_config is None):
            given = "both" if estimator is not None else "neither"
            raise ValidationError(
                f"HyperDriveConfig needs exactly one of estimator and run_config (got {given}): "
                f"the script each child runs", parameter="estimator, run_config")
        from runyard.train import ScriptRunConfig
        from runyard.train.estimator import Estimator

        if run_config is not None and not isinstance(run_config, ScriptRunConfig):
            raise ValidationError(f"run_config must be a ScriptRunConfig, not "
                                  f"{type(run_config).__name__}", parameter="run_config")
        if estimator is not None and not isinstance(estimator, Estimator):
            raise ValidationError(f"estimator must be an Estimator (or TensorFlow, PyTorch), "
                                  f"not {type(estimator).__name__}", parameter="estimator")

    def _warn_bayesian(self) -> None:
        cls = BayesianParameterSampling
        count = len(self._hyperparameter_sampling.parameter_space)
        recommended = cls.RECOMMENDED_MIN_RUNS_PER_PARAMETER * count
        if self._max_total_runs < recommended:
            warnings.warn(
                f"For best results with Bayesian Sampling we recommend using a maximum number "
                f"of runs greater than or equal to {cls.RECOMMENDED_MIN_RUNS_PER_PARAMETER} "
                f"times the number of hyperparameters being tuned. Recommended value: "
                f"{recommended}.", UserWarning, stacklevel=3)
        if self._max_concurrent_runs > cls.RECOMMENDED_MAX_CONCURRENT_RUNS:
            warnings.warn(
                f"We recommend using {cls.RECOMMENDED_MAX_CONCURRENT_RUNS} max concurrent runs "
                f"or fewer when using Bayesian sampling since a higher number might not "
                f"provide the best result.", UserWarning, stacklevel=3)

    # -- v1's read-only view ----------------------------------------------------------------
    @property
    def hyperparameter_sampling(self) -> HyperParameterSampling:
        return self._hyperparameter_sampling

    @property
    def primary_metric_name(self) -> str:
        return self._primary_metric_name

    @property
    def primary_metric_goal(self) -> PrimaryMetricGoal:
        return self._primary_metric_goal

    @property
    def max_total_runs(self) -> int:
        return self._max_total_runs

    @property
    def max_concurrent_runs(self) -> int:
        return self._max_concurrent_runs

    @property
    def max_duration_minutes(self) -> int | float:
        return self._max_duration_minutes

    @property
    def policy(self) -> EarlyTerminationPolicy:
        return self._policy

    @property
    def estimator(self) -> Any:
        """The estimator children run with (None when a run_config is used)."""
        return self._estimator

    @property
    def run_config(self) -> Any:
        """The ScriptRunConfig children run with (None when an estimator is used)."""
        return self._run_config

    @property
    def source_directory(self) -> Any:
        target = self._estimator if self._estimator is not None else self._run_config
        return target.source_directory

    # v1's private dicts, which v1 stores on the parent run as tags
    @property
    def _generator_config(self) -> dict[str, Any]:
        return self._hyperparameter_sampling.to_json()

    @property
    def _policy_config(self) -> dict[str, Any]:
        return self._policy.to_json()

    @property
    def _primary_metric_config(self) -> dict[str, str]:
        return {"name": self._primary_metric_name,
                "goal": self._primary_metric_goal.name.lower()}

    # -- what the driver uses -----------------------------------------------------------------
    def sampler(self) -> ParameterSampler:
        """A new sampler for this sweep (its goal is the primary metric's)."""
        return self._hyperparameter_sampling.sampler(self._primary_metric_goal)

    def to_json(self) -> dict[str, Any]:
        """The sweep's settings, without the estimator/run_config (see the module doc)."""
        return {"generator_config": self._generator_config,
                "policy_config": self._policy_config,
                "primary_metric_config": self._primary_metric_config,
                "max_total_runs": self._max_total_runs,
                "max_concurrent_runs": self._max_concurrent_runs,
                "max_duration_minutes": self._max_duration_minutes}

    @staticmethod
    def settings_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments (all but estimator/run_config) `to_json()` stored."""
        metric = data["primary_metric_config"]
        return {"hyperparameter_sampling": sampling_from_json(data["generator_config"]),
                "policy": policy_from_json(data.get("policy_config")),
                "primary_metric_name": metric["name"],
                "primary_metric_goal": PrimaryMetricGoal.from_str(metric["goal"]),
                "max_total_runs": data["max_total_runs"],
                "max_concurrent_runs": data["max_concurrent_runs"],
                "max_duration_minutes": data["max_duration_minutes"]}
