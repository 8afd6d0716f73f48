"""`azureml.data.file_dataset`: runyard's datasets (runyard.data.dataset)."""

from runyard.data.dataset import FileDataset

__all__ = ["FileDataset"]
