"""`azureml.core.dataset`: v1's Dataset (`Dataset.File.from_files`,
`Dataset.Tabular.from_delimited_files`, `register`, `get_by_name`, `as_named_input`,
`as_mount`, `as_download`) over runyard's datastores (runyard.data.dataset)."""

from runyard.data.dataset import Dataset

__all__ = ["Dataset"]
