"""`azureml.data.tabular_dataset`: runyard's datasets (runyard.data.dataset)."""

from runyard.azureml._surface import module_getattr
from runyard.data.dataset import TabularDataset

__all__ = ["TabularDataset"]

__getattr__ = module_getattr(__name__)
