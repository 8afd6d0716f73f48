"""`azureml.data.abstract_dataset`: runyard's datasets (runyard.data.dataset)."""

from runyard.data.dataset import AbstractDataset

__all__ = ["AbstractDataset"]
