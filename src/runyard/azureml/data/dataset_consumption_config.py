"""`azureml.data.dataset_consumption_config`: runyard's datasets (runyard.data.dataset)."""

from runyard.azureml._surface import module_getattr
from runyard.data.dataset import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]

__getattr__ = module_getattr(__name__)
