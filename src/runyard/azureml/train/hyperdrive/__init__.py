"""`azureml.train.hyperdrive`: v1's HyperDrive, as runyard.hyperdrive runs it.

The names are runyard.hyperdrive's (parameter expressions, samplings, policies,
`PrimaryMetricGoal`, `HyperDriveRun`; v1's abstract bases and its deprecated
`HyperDriveRunConfig` are refused); `HyperDriveConfig` also takes v1's `pipeline`
(refused: runyard has no pipelines), `debug_flag` and `custom_run_id` (ignored, with a
warning). `exp.submit(HyperDriveConfig(...))` starts the sweep and returns a HyperDriveRun.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.azureml._ignored import warn_ignored
from runyard.azureml._surface import module_getattr
from runyard.errors import NotSupportedError
from runyard.hyperdrive import (
    BanditPolicy,
    BayesianParameterSampling,
    GridParameterSampling,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    TruncationSelectionPolicy,
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
from runyard.hyperdrive import HyperDriveConfig as _HyperDriveConfig
from runyard.hyperdrive.run import HyperDriveRun

if TYPE_CHECKING:
    from runyard.hyperdrive import EarlyTerminationPolicy, HyperParameterSampling


class HyperDriveConfig(_HyperDriveConfig):
    """runyard.hyperdrive.HyperDriveConfig with v1's whole signature.

    Example:
        >>> from runyard.azureml.core import ScriptRunConfig
        >>> config = HyperDriveConfig(
        ...     run_config=ScriptRunConfig(source_directory=".", script="train.py"),
        ...     hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.1, 0.01)}),
        ...     primary_metric_name="loss", primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        ...     max_total_runs=2)
    """

    def __init__(self, hyperparameter_sampling: HyperParameterSampling,
                 primary_metric_name: str, primary_metric_goal: PrimaryMetricGoal | str,
                 max_total_runs: int, max_concurrent_runs: int | None = None,
                 max_duration_minutes: int | float = 10080,
                 policy: EarlyTerminationPolicy | None = None, estimator: Any = None,
                 run_config: Any = None, resume_from: Any = None,
                 resume_child_runs: Any = None, pipeline: Any = None,
                 debug_flag: Any = None, custom_run_id: Any = None) -> None:
        if pipeline is not None:
            raise NotSupportedError(
                "HyperDriveConfig(pipeline=...): runyard has no pipelines; tune a script "
                "with run_config=ScriptRunConfig(...) (or estimator=...)", name="pipeline")
        warn_ignored("HyperDriveConfig", {"debug_flag": debug_flag,
                                          "custom_run_id": custom_run_id},
                     {"debug_flag": None, "custom_run_id": None})
        super().__init__(hyperparameter_sampling, primary_metric_name, primary_metric_goal,
                         max_total_runs, max_concurrent_runs, max_duration_minutes, policy,
                         estimator, run_config, resume_from, resume_child_runs)

    @property
    def pipeline(self) -> None:
        """v1's pipeline to tune: always None here (runyard has no pipelines)."""
        return None


__getattr__ = module_getattr(__name__)

__all__ = [
    "BanditPolicy", "BayesianParameterSampling", "EarlyTerminationPolicy",
    "GridParameterSampling", "HyperDriveConfig", "HyperDriveRun", "HyperDriveRunConfig",
    "HyperParameterSampling", "MedianStoppingPolicy", "NoTerminationPolicy",
    "PrimaryMetricGoal", "RandomParameterSampling", "TruncationSelectionPolicy",
    "choice", "lognormal", "loguniform", "normal", "qlognormal", "qloguniform",
    "qnormal", "quniform", "randint", "uniform"]
