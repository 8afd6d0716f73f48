"""`azureml.core` inside a run where azureml-core is not installed: `Run` only.

A training script needs `Run.get_context()` and the run's logging; the rest of v1 (Dataset,
Workspace, ...) is the notebook's side, which imports `runyard.azureml`.
"""

from .run import Run

__all__ = ["Run"]


def __getattr__(name: str) -> object:
    if name.startswith("__"):
        raise AttributeError(name)
    raise ImportError(
        f"azureml.core.{name} is not available inside this run: runyard gives training "
        f"scripts azureml.core.Run (Run.get_context(), log, log_list, log_row, log_table, "
        f"log_image, log_confusion_matrix, tag, upload_file, child_run, create_children, "
        f"input_datasets, ...) and azureml-core is not installed in the run's "
        f"environment; install it there (pip_packages=['azureml-core']) to use {name}, or "
        f"use runyard's API")
