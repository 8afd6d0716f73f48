"""`azureml.core`: the names a v1 notebook imports from it, with v1's signatures.

Light to import: no TensorFlow, Ray, SQLAlchemy or fsspec is loaded until used.
"""

from runyard.azureml.core.compute import ComputeTarget
from runyard.azureml.core.datastore import Datastore
from runyard.azureml.core.environment import Environment
from runyard.azureml.core.experiment import Experiment
from runyard.azureml.core.model import Model
from runyard.azureml.core.run import Run
from runyard.azureml.core.runconfig import RunConfiguration
from runyard.azureml.core.script_run_config import ScriptRunConfig
from runyard.azureml.core.workspace import Workspace

__all__ = ["ComputeTarget", "Datastore", "Environment", "Experiment", "Model", "Run",
           "RunConfiguration", "ScriptRunConfig", "Workspace"]
