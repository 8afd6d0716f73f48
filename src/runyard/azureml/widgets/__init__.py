"""`azureml.widgets`: `RunDetails(run).show()` in a notebook, runyard's own widget
(`runyard.widgets`): live status, stage timeline, metric charts, log tail and a sweep's
children in Jupyter; the run page's address elsewhere.
"""

from __future__ import annotations

from typing import Any

from runyard.azureml._surface import module_getattr
from runyard.errors import NotSupportedError
from runyard.widgets import RunDetails

__all__ = ["ParallelRunStepDetails", "RunDetails"]


class ParallelRunStepDetails:
    """v1's widget for ParallelRunStep (Azure ML pipelines), which runyard does not have."""

    def __init__(self, run_instance: Any, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError("ParallelRunStepDetails shows a ParallelRunStep of an Azure "
                                "ML pipeline; runyard has no pipelines. Use RunDetails(run) "
                                "for a run and its child runs")

    def show(self) -> None:
        """Never reached: making one raises."""

__getattr__ = module_getattr(__name__)
