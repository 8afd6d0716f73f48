"""`azureml.core.dataset`: v1's Dataset (`Dataset.File.from_files`,
`Dataset.Tabular.from_delimited_files`, `register`, `get_by_name`, `as_named_input`,
`as_mount`, `as_download`) over runyard's datastores (runyard.data.dataset)."""

from runyard.azureml._surface import module_getattr
from runyard.data.dataset import Dataset

__all__ = ["Dataset"]

__getattr__ = module_getattr(__name__)
