"""`azureml.data`: datasets and data references (datastores are in `runyard.azureml.core`)."""

from runyard import __version__
from runyard.azureml._surface import module_getattr
from runyard.azureml.data.data_reference import DataReference
from runyard.data.dataset import (
    AbstractDataset,
    DatasetConsumptionConfig,
    DataType,
    FileDataset,
    TabularDataset,
)

VERSION = __version__

__all__ = ["VERSION", "AbstractDataset", "DataReference", "DataType",
           "DatasetConsumptionConfig", "FileDataset", "TabularDataset", "__version__"]

__getattr__ = module_getattr(__name__)
