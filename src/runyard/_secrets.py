"""v1's `run.get_secret(name)` without Azure Key Vault: secrets are environment variables.

A v1 secret name is letters, digits and '-'; an environment variable cannot hold '-', so
`get_secret("storage-key")` reads `storage-key` if it is set, else `STORAGE_KEY`. Give a
submitted run its secrets with `RunConfiguration.environment_variables` (or the
environment of the process that submits it), from your own secret store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from runyard.errors import ValidationError


def variable_names(name: str) -> list[str]:
    """The environment variables that may hold secret `name`, in the order looked up."""
    if not isinstance(name, str) or not name:
        raise ValidationError(f"a secret name must be a non-empty string, got {name!r}")
    normalized = name.upper().replace("-", "_")
    return [name] if normalized == name else [name, normalized]


def get_secret(name: str) -> str:
    """The secret `name` from the environment; a clear error naming the variables if unset."""
    names = variable_names(name)
    for variable in names:
        value = os.environ.get(variable)
        if value is not None:
            return value
    raise ValidationError(
        f"secret {name!r} is not set: runyard reads secrets from environment variables "
        f"({' or '.join(names)}); set it where the run starts, e.g. "
        f"run_config.environment_variables[{names[-1]!r}] = ...", name=name)


def get_secrets(names: Iterable[str]) -> dict[str, str | None]:
    """{name: value} for each name; None where no variable holds it (v1's "not found")."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = get_secret(name)
        except ValidationError:
            found[name] = None
    return found
