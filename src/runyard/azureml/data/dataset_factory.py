"""`azureml.data.dataset_factory`: runyard's datasets (runyard.data.dataset)."""

from runyard.data.dataset import DataType, FileDatasetFactory, TabularDatasetFactory

__all__ = ["DataType", "FileDatasetFactory", "TabularDatasetFactory"]
