"""`azureml.data.data_reference`: a datastore path that reaches a run as a local path
(runyard's DataReference has v1's arguments and defaults)."""

from runyard.azureml._surface import module_getattr
from runyard.data import DataReference

__all__ = ["DataReference"]

__getattr__ = module_getattr(__name__)
