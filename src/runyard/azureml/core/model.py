"""`azureml.core.model`: the model registry (runyard's Model has v1's register, list,
download and get_model_path)."""

from runyard.azureml._surface import module_getattr
from runyard.models import Model

__all__ = ["Model"]

__getattr__ = module_getattr(__name__)
