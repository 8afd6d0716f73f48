"""`azureml.core.run`: the client's Run and, inside a script, `Run.get_context()`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard import _status
from runyard.azureml._surface import module_getattr
from runyard.run import Run

if TYPE_CHECKING:
    from runyard.experiment import Experiment

__all__ = ["POST_PROCESSING_STATES", "RUNNING_STATES", "InputDatasets", "Run", "get_run"]

# v1's lists, with runyard's statuses (Scaling is runyard's Provisioning)
RUNNING_STATES = [_status.NOT_STARTED, _status.QUEUED, _status.PREPARING, _status.SCALING,
                  _status.STARTING, _status.RUNNING]
POST_PROCESSING_STATES = [_status.CANCEL_REQUESTED, _status.FINALIZING]


class InputDatasets(dict[str, Any]):
    """The run's named inputs (`Run.get_context().input_datasets`): input name -> the
    local path the script reads, from the run's environment. `workspace` is v1's
    argument, not needed: the run says where its inputs are."""

    def __init__(self, workspace: Any = None) -> None:
        from runyard.runtime._run import input_datasets

        super().__init__(input_datasets())


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
