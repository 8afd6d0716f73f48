"""`azureml.core.run`: the client's Run and, inside a script, `Run.get_context()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runyard import _status
from runyard.azureml._surface import module_getattr
from runyard.run import Run

if TYPE_CHECKING:
    from runyard.experiment import Experiment

__all__ = ["POST_PROCESSING_STATES", "RUNNING_STATES", "Run", "get_run"]

# v1's lists, with runyard's statuses (Scaling is runyard's Provisioning)
RUNNING_STATES = [_status.NOT_STARTED, _status.QUEUED, _status.PREPARING, _status.SCALING,
                  _status.STARTING, _status.RUNNING]
POST_PROCESSING_STATES = [_status.CANCEL_REQUESTED, _status.FINALIZING]


def get_run(experiment: Experiment, run_id: str, rehydrate: bool = True,
            clean_up: bool = True) -> Run:
    """The run `run_id` of `experiment` (RunNotFoundError if there is none)."""
    run = Run.get(experiment.workspace, run_id)
    if run.experiment.name != experiment.name:
        from runyard.errors import RunNotFoundError

        raise RunNotFoundError(f"run {run_id!r} belongs to experiment "
                               f"{run.experiment.name!r}, not {experiment.name!r}",
                               run_id=run_id)
    return run

__getattr__ = module_getattr(__name__)
