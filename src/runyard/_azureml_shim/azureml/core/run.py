"""`azureml.core.run` inside a run where azureml-core is not installed.

`Run.get_context()` is runyard's runtime: the live run when the script was submitted, an
offline run that prints what it is told when the script is started by hand.
"""

from __future__ import annotations

from typing import Any

from runyard.runtime import OfflineRun, RuntimeRun, get_context

_OfflineRun = OfflineRun  # v1 scripts test `isinstance(run, _OfflineRun)`


class Run:
    """The part of v1's Run a training script uses: `Run.get_context()`."""

    @classmethod
    def get_context(cls, allow_offline: bool = True,
                    used_for_context_manager: bool = False,  # noqa: ARG003 - v1's
                    **kwargs: Any) -> RuntimeRun | OfflineRun:  # noqa: ARG003 - v1's
        """The run this process belongs to (v1's signature; the last two are ignored)."""
        return get_context(allow_offline=allow_offline)


__all__ = ["Run"]
