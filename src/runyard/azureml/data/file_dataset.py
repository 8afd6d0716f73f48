"""`azureml.data.file_dataset`: runyard's datasets (runyard.data.dataset)."""

from runyard.azureml._surface import module_getattr
from runyard.data.dataset import FileDataset

__all__ = ["FileDataset"]

__getattr__ = module_getattr(__name__)
