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
from runyard.azureml._surface import module_getattr
from runyard.azureml.exceptions import UserErrorException

__all__ = ["AML_INTERNAL_LOGGER_NAMESPACE", "DIAGNOSTICS_VERBOSITY_KEY", "INSTRUMENTATION_KEY",
           "LOGGER_NAME", "SEND_DIAGNOSTICS_KEY", "UserErrorException",
           "add_diagnostics_properties", "get_diagnostics_collection_info",
           "get_event_logger", "get_telemetry_log_handler",
           "is_diagnostics_collection_info_available", "set_diagnostics_collection",
           "set_diagnostics_properties"]

AML_INTERNAL_LOGGER_NAMESPACE = "azureml.telemetry"
INSTRUMENTATION_KEY = ""  # none: nothing is sent
LOGGER_NAME = "ApplicationInsightLogger"
SEND_DIAGNOSTICS_KEY = "send_diagnostics"
DIAGNOSTICS_VERBOSITY_KEY = "diagnostics_verbosity"


class _NoEvents:
    """An event logger that records nothing."""

    def log_event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def get_event_logger(*args: Any, **kwargs: Any) -> _NoEvents:
    """An event logger that records nothing (runyard collects no telemetry)."""
    return _NoEvents()


def get_telemetry_log_handler(instrumentation_key: str | None = None,
                              component_name: str | None = None, path: str | None = None,
                              proceed_in_hbi_mode: bool = False) -> logging.Handler:
    """A handler that drops every record (v1's answer when collection is off)."""
    return logging.NullHandler()


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
    return {SEND_DIAGNOSTICS_KEY: False, DIAGNOSTICS_VERBOSITY_KEY: "NOTSET"}


def is_diagnostics_collection_info_available() -> bool:
    return True


def add_diagnostics_properties(properties: Mapping[str, Any]) -> None:
    """Accepted; nothing is collected."""


def set_diagnostics_properties(properties: Mapping[str, Any]) -> None:
    """Accepted; nothing is collected."""

__getattr__ = module_getattr(__name__)
