"""`azureml.core.experiment`: experiments and `submit` (runyard's Experiment)."""

from runyard.experiment import Experiment

__all__ = ["Experiment"]
