"""`azureml.data.dataset_consumption_config`: runyard's datasets (runyard.data.dataset)."""

from runyard.data.dataset import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
