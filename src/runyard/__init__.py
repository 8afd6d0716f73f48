"""runyard: train machine-learning models at scale on your own machines.

Importing runyard is light: it loads no SQLAlchemy, fsspec, rich or Ray. The public names
below resolve on first use, so a training script's `from runyard import Run` costs only
the standard library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ComputeTarget": "runyard.compute",
    "CondaDependencies": "runyard.environment",
    "DataReference": "runyard.data",
    "Datastore": "runyard.data",
    "Environment": "runyard.environment",
    "Experiment": "runyard.experiment",
    "LocalCompute": "runyard.compute",
    "Model": "runyard.models",
    "Run": "runyard.run",
    "RunyardError": "runyard.errors",
    "ScriptRunConfig": "runyard.train",
    "Workspace": "runyard.workspace",
}

__all__ = [
    "ComputeTarget", "CondaDependencies", "DataReference", "Datastore", "Environment",
    "Experiment", "LocalCompute", "Model", "Run", "RunyardError", "ScriptRunConfig",
    "Workspace",
]

if TYPE_CHECKING:
    from runyard.compute import ComputeTarget as ComputeTarget
    from runyard.compute import LocalCompute as LocalCompute
    from runyard.data import DataReference as DataReference
    from runyard.data import Datastore as Datastore
    from runyard.environment import CondaDependencies as CondaDependencies
    from runyard.environment import Environment as Environment
    from runyard.errors import RunyardError as RunyardError
    from runyard.experiment import Experiment as Experiment
    from runyard.models import Model as Model
    from runyard.run import Run as Run
    from runyard.train import ScriptRunConfig as ScriptRunConfig
    from runyard.workspace import Workspace as Workspace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
