"""`azureml.core`: the names a v1 notebook imports from it, with v1's signatures.

Light to import: no TensorFlow, Ray, SQLAlchemy or fsspec is loaded until used. Names
that live in modules a notebook may never touch (`Dataset`, `ContainerRegistry`, `get_run`,
the refused deployment and legacy compute names) resolve on first use; `VERSION` is
runyard's version, as `azureml.core.VERSION` is the SDK's.
"""

from __future__ import annotations

import importlib
from typing import Any

from runyard.azureml._surface import module_getattr
from runyard.azureml.core.compute import ComputeTarget
from runyard.azureml.core.datastore import Datastore
from runyard.azureml.core.environment import Environment
from runyard.azureml.core.experiment import Experiment
from runyard.azureml.core.model import Model
from runyard.azureml.core.run import Run
from runyard.azureml.core.runconfig import RunConfiguration
from runyard.azureml.core.script_run_config import ScriptRunConfig
from runyard.azureml.core.workspace import Workspace

# v1 name -> the runyard.azureml module that defines it, imported on first use
_LAZY = {
    "ContainerRegistry": "runyard.azureml.core.container_registry",
    "Dataset": "runyard.azureml.core.dataset",
    "Webservice": "runyard.azureml.core.webservice",
    "diagnostic_log": "runyard.azureml.core._diagnostics",
    "get_run": "runyard.azureml.core.run",
}
_surface_getattr = module_getattr(__name__)


ScriptRun = Run  # v1's class of submitted script runs; runyard's Run is every run


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        return _surface_getattr(name)
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} "
                             f"({module} is missing)") from error
    globals()[name] = value
    return value


# v1's __all__, less the names of modules still to come (Dataset, ContainerRegistry,
# get_run), so that `from runyard.azureml.core import *` never fails
__all__ = ["ComputeTarget", "Datastore", "Environment", "Experiment", "Image", "Keyvault",
           "LinkedService", "Model", "PrivateEndPoint", "PrivateEndPointConfig", "Run",
           "RunConfiguration", "ScriptRun", "ScriptRunConfig",
           "SynapseWorkspaceLinkedServiceConfiguration", "Webservice", "Workspace",
           "attach_legacy_compute_target", "diagnostic_log", "is_compute_target_prepared",
           "prepare_compute_target", "remove_legacy_compute_target"]
