"""`azureml.data.tabular_dataset`: runyard's datasets (runyard.data.dataset)."""

from runyard.data.dataset import TabularDataset

__all__ = ["TabularDataset"]
