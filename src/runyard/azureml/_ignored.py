"""Azure-only arguments: accepted for v1 compatibility, ignored with one warning line."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any


class AzureArgumentIgnoredWarning(UserWarning):
    """A v1 argument that cannot mean anything here: a subscription, a resource group, a
    sign-in, a network, a Docker registry... The call goes on without it."""


def warn_ignored(where: str, given: Mapping[str, Any], defaults: Mapping[str, Any],
                 stacklevel: int = 3) -> None:
    """Warn once, on one line, about the arguments of `where` in `defaults` whose value in
    `given` is not v1's default (passing the default is not worth a warning)."""
    named = sorted(name for name, default in defaults.items()
                   if name in given and given[name] is not default and given[name] != default)
    if named:
        warnings.warn(f"runyard ignores these Azure-only arguments of {where}: "
                      f"{', '.join(named)} (see docs/migration.md)",
                      AzureArgumentIgnoredWarning, stacklevel=stacklevel)
