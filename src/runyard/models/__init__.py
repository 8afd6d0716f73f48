"""The model registry: named, versioned, immutable model files (`Model`), registered from a
local path (`Model.register`) or from a run's files (`Run.register_model`)."""

from runyard.models.model import Model

__all__ = ["Model"]
