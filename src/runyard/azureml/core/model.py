"""`azureml.core.model`: the model registry (runyard's Model has v1's register, list,
download and get_model_path)."""

import os

from runyard.azureml._surface import module_getattr
from runyard.models import Model

__all__ = ["MODELS_DIR", "Model"]

# v1's folder for models in a deployment; runyard's get_model_path uses its cache instead
MODELS_DIR = os.path.join(os.environ.get("AML_APP_ROOT", ""), "azureml-models")

__getattr__ = module_getattr(__name__)
