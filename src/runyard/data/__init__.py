"""Datastores: named places for data (a folder here, or any fsspec URL), uploads and
downloads, and DataReferences that reach runs as local paths (docs/datastores.md).

Nothing heavy loads on import: fsspec and rich are imported where they are used.
"""

from runyard.data._in_run import apply_data_references, resolve_data_reference
from runyard.data.data_reference import DataReference
from runyard.data.datastore import DEFAULT_DATASTORE, Datastore

__all__ = ["DEFAULT_DATASTORE", "DataReference", "Datastore", "apply_data_references",
           "resolve_data_reference"]
