"""`azureml.core.datastore`: datastores (runyard's Datastore has v1's upload, download,
path, as_mount and as_download)."""

from runyard.data import Datastore

__all__ = ["Datastore"]
