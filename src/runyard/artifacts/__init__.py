"""Files of runs: outputs, logs, snapshots (content-addressed blobs), by URL scheme."""

from runyard.artifacts.base import ArtifactStore, open_artifact_store

__all__ = ["ArtifactStore", "open_artifact_store"]
