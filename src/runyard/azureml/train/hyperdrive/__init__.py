"""`azureml.train.hyperdrive`: refused until runyard tunes hyperparameters (issue 14).

Every name imports; building a sampling, policy or `HyperDriveConfig`, or calling a
parameter expression (`choice(...)`, `uniform(...)`), raises `NotSupportedError` saying
what to do instead: submit one run per setting and compare their metrics.
"""

from runyard.azureml._surface import module_getattr

__getattr__ = module_getattr(__name__)

# the names module_getattr serves
__all__ = [
           "BanditPolicy", "BayesianParameterSampling", "EarlyTerminationPolicy",
           "GridParameterSampling", "HyperDriveConfig", "HyperDriveRun", "HyperDriveRunConfig",
           "HyperParameterSampling", "MedianStoppingPolicy", "NoTerminationPolicy",
           "PrimaryMetricGoal", "RandomParameterSampling", "TruncationSelectionPolicy",
           "choice", "lognormal", "loguniform", "normal", "qlognormal", "qloguniform",
           "qnormal", "quniform", "randint", "uniform"]
