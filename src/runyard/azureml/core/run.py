"""`azureml.core.run`: the client's Run and, inside a script, `Run.get_context()`."""

from runyard.run import Run

__all__ = ["Run"]
