"""`azureml.data`: data references (datastores are in `runyard.azureml.core`)."""

from runyard.azureml.data.data_reference import DataReference

__all__ = ["DataReference"]
