"""`azureml.core.datastore`: datastores (runyard's Datastore has v1's upload, download,
path, as_mount and as_download; v1's `register_azure_*` are refused in favour of
`Datastore.register(ws, name, url)` with any fsspec URL)."""

from runyard.azureml._surface import module_getattr
from runyard.data import Datastore

__getattr__ = module_getattr(__name__)

__all__ = ["Datastore"]
