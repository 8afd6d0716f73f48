"""`azureml.data.dataset_factory`: runyard's datasets (runyard.data.dataset)."""

from runyard.azureml._surface import module_getattr
from runyard.data.dataset import DataType, FileDatasetFactory, TabularDatasetFactory

__all__ = ["DataType", "FileDatasetFactory", "TabularDatasetFactory"]

__getattr__ = module_getattr(__name__)
