"""`azureml.data`: datasets and data references (datastores are in `runyard.azureml.core`)."""

from runyard.azureml.data.data_reference import DataReference
from runyard.data.dataset import (
    AbstractDataset,
    DatasetConsumptionConfig,
    FileDataset,
    TabularDataset,
)

__all__ = ["AbstractDataset", "DataReference", "DatasetConsumptionConfig", "FileDataset",
           "TabularDataset"]
