"""`azureml.core.diagnostic_log`: v1's debug log capture, over runyard's loggers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType


class diagnostic_log:  # v1's spelling
    """Write the DEBUG log of runyard (and of `namespaces`) to `log_path` while active.

    Example:
        >>> with diagnostic_log("debug.log"):   # doctest: +SKIP
        ...     run = exp.submit(config)
    """

    def __init__(self, log_path: str | None = None, namespaces: Sequence[str] | None = None,
                 context_name: str | None = None) -> None:
        self.log_path = log_path or "runyard_diagnostic.log"
        self.namespaces = ["runyard", *(namespaces or [])]
        self.context_name = context_name
        self._handler: logging.Handler | None = None
        self._levels: dict[str, int] = {}

    def start_capture(self) -> None:
        """Start writing the log (appending to `log_path`)."""
        if self._handler is not None:
            return
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        prefix = f"[{self.context_name}] " if self.context_name else ""
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)s %(name)s {prefix}%(message)s"))
        handler.setLevel(logging.DEBUG)
        for name in self.namespaces:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(handler)
        self._handler = handler

    def stop_capture(self) -> None:
        """Stop writing the log; the loggers get their levels back."""
        if self._handler is None:
            return
        for name in self.namespaces:
            logger = logging.getLogger(name)
            logger.removeHandler(self._handler)
            logger.setLevel(self._levels.pop(name, logging.NOTSET))
        self._handler.close()
        self._handler = None

    def __enter__(self) -> diagnostic_log:
        self.start_capture()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop_capture()
