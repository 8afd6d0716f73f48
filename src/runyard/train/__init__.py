"""What can be submitted: ScriptRunConfig, and estimators (Estimator, TensorFlow)."""

from runyard.train.estimator import Estimator, TensorFlow
from runyard.train.script_run_config import ScriptRunConfig

__all__ = ["Estimator", "ScriptRunConfig", "TensorFlow"]
