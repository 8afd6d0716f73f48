"""`azureml.telemetry`: runyard sends no diagnostics anywhere.

`set_diagnostics_collection(send_diagnostics=True)` (the first cell of many v1 notebooks)
is accepted; asking to send says once, on one line, that nothing is sent. The other
calls answer as v1 does when collection is off.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

from runyard.azureml._ignored import AzureArgumentIgnoredWarning

__all__ = ["add_diagnostics_properties", "get_diagnostics_collection_info",
           "is_diagnostics_collection_info_available", "set_diagnostics_collection",
           "set_diagnostics_properties"]


def set_diagnostics_collection(send_diagnostics: bool = True, verbosity: int = logging.INFO,
                               reason: str = "", path: str | None = None) -> None:
    """Accepted; runyard collects and sends no diagnostics."""
    if send_diagnostics:
        warnings.warn("runyard ignores set_diagnostics_collection(send_diagnostics=True): it "
                      "collects and sends no diagnostics (see docs/migration.md)",
                      AzureArgumentIgnoredWarning, stacklevel=2)


def get_diagnostics_collection_info(component_name: str | None = None,
                                    path: str | None = None,
                                    proceed_in_hbi_mode: bool = False) -> dict[str, Any]:
    """Collection is always off here."""
    return {"send_diagnostics": False, "diagnostics_verbosity": "NOTSET"}


def is_diagnostics_collection_info_available() -> bool:
    return True


def add_diagnostics_properties(properties: Mapping[str, Any]) -> None:
    """Accepted; nothing is collected."""


def set_diagnostics_properties(properties: Mapping[str, Any]) -> None:
    """Accepted; nothing is collected."""
