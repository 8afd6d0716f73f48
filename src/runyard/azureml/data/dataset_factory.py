"""`azureml.data.dataset_factory`: runyard's datasets (runyard.data.dataset)."""

from runyard.data.dataset import FileDatasetFactory, TabularDatasetFactory

__all__ = ["FileDatasetFactory", "TabularDatasetFactory"]
