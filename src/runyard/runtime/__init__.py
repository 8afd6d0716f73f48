"""What a training process imports: `Run.get_context()` and the channel to its supervisor.

Standard library only.
"""

from runyard.runtime._run import OfflineRun, RuntimeRun, get_context

__all__ = ["OfflineRun", "RuntimeRun", "get_context"]
