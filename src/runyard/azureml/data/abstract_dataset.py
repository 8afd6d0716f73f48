"""`azureml.data.abstract_dataset`: runyard's datasets (runyard.data.dataset)."""

from runyard.azureml._surface import module_getattr
from runyard.data.dataset import AbstractDataset

__all__ = ["AbstractDataset"]

__getattr__ = module_getattr(__name__)
