"""`azureml.core.experiment`: experiments and `submit` (runyard's Experiment)."""

from runyard.azureml._surface import module_getattr
from runyard.experiment import Experiment


class ViewType:
    """Which experiments `Experiment.list(ws, view_type=...)` lists (v1's values)."""

    ActiveOnly = "ActiveOnly"
    All = "All"
    ArchivedOnly = "ArchivedOnly"


__getattr__ = module_getattr(__name__)

__all__ = ["Experiment", "ViewType"]
