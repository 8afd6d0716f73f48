"""Hyperparameter tuning with Azure ML v1's HyperDrive names and semantics.

`exp.submit(HyperDriveConfig(...))` starts a sweep: a parent run whose supervisor runs the
sweep's driver (`runyard.supervisor._sweep`), which starts the children as ordinary runs;
it returns a `HyperDriveRun` (`runyard.hyperdrive.run`) with v1's results
(`get_best_run_by_primary_metric`, `get_children_sorted_by_primary_metric`, ...) and
`replay`. `runyard hyperdrive show / replay` are the CLI (`_cli`). The sweep is built from:

- parameter expressions (`choice`, `uniform`, `loguniform`, ...), keyed by the script's
  argument names ("--learning-rate" or "learning_rate");
- samplings (`RandomParameterSampling`, `GridParameterSampling`,
  `BayesianParameterSampling`) and the ask/tell samplers they make (Optuna 5 behind
  Random and Bayesian, imported only when a sampler is made);
- early-termination policies (`BanditPolicy`, `MedianStoppingPolicy`,
  `TruncationSelectionPolicy`, `NoTerminationPolicy`) as pure decisions over metric
  histories, each decision a record with its numbers;
- `HyperDriveConfig` and `PrimaryMetricGoal`, every bad input refused when built;
- `replay` of a policy over a finished sweep's histories, and `parse_policy` for the
  CLI form `'Bandit(evaluation_interval=2, slack_factor=0.1)'`.

Importing this package imports no Optuna (and `HyperDriveRun` loads on first use).
"""

from typing import TYPE_CHECKING, Any

from runyard.hyperdrive._goal import PrimaryMetricGoal
from runyard.hyperdrive.parameter_expressions import (
    ParameterExpression,
    argument_name,
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)
from runyard.hyperdrive.policy import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PolicyDecision,
    TruncationSelectionPolicy,
    policy_from_json,
)
from runyard.hyperdrive.replay import (
    ChildHistory,
    ReplayReport,
    ReplayStop,
    estimate_policy_savings,
    format_report,
    parse_policy,
    replay,
)
from runyard.hyperdrive.runconfig import HyperDriveConfig
from runyard.hyperdrive.sampling import (
    BayesianParameterSampling,
    GridParameterSampling,
    HyperParameterSampling,
    ParameterSampler,
    RandomParameterSampling,
    SampledTrial,
    TrialOutcome,
    sampling_from_json,
)

if TYPE_CHECKING:
    from runyard.hyperdrive.run import HyperDriveRun


def __getattr__(name: str) -> Any:
    if name == "HyperDriveRun":  # the run history's client, loaded when first asked for
        from runyard.hyperdrive.run import HyperDriveRun

        return HyperDriveRun
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BanditPolicy", "BayesianParameterSampling", "ChildHistory", "EarlyTerminationPolicy",
    "GridParameterSampling", "HyperDriveConfig", "HyperDriveRun", "HyperParameterSampling",
    "MedianStoppingPolicy", "NoTerminationPolicy", "ParameterExpression", "ParameterSampler",
    "PolicyDecision", "PrimaryMetricGoal", "RandomParameterSampling", "ReplayReport",
    "ReplayStop", "SampledTrial", "TrialOutcome", "TruncationSelectionPolicy",
    "argument_name", "choice", "estimate_policy_savings", "format_report", "lognormal",
    "loguniform", "normal", "parse_policy", "policy_from_json", "qlognormal", "qloguniform",
    "qnormal", "quniform", "randint", "replay", "sampling_from_json", "uniform",
]
