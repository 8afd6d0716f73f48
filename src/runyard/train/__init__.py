"""What can be submitted: ScriptRunConfig now; Estimator and TensorFlow later."""

from runyard.train.script_run_config import ScriptRunConfig

__all__ = ["ScriptRunConfig"]
