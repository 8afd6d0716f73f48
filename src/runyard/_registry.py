"""One registry helper for every kind of backend: a name → a lazily imported class.

Each kind (run history store and artifact store by URL scheme, compute target by type
name, environment builder by name) has one `Registry`: the built-in names map to
`"module:Class"` strings, imported only when the name is used, so `import runyard` stays
light. Plugins add backends without editing runyard through an entry-point group, e.g.
in a plugin's pyproject.toml:

    [project.entry-points."runyard.computes"]
    kube = "runyard_kube.target:KubeCompute"

A name runyard does not know raises the kind's own error (the caller's `error` factory)
with every valid name, built-ins and plugins alike (MLflow's
`mlflow/tracking/registry.py` is the model).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


def load(reference: str) -> object:
    """The object `"package.module:Name"` names (imported now)."""
    module, _, name = reference.partition(":")
    found: object = importlib.import_module(module)
    for part in name.split(".") if name else ():
        found = getattr(found, part)
    return found


class Registry(Generic[T]):
    """Names of one kind of backend, each a `"module:Class"` imported when first used.

    `group` is the entry-point group plugins register in (`runyard.<kind>s`); a built-in
    name wins over a plugin of the same name. `error(name, valid)` makes the exception
    raised for an unknown name (each kind keeps its own error class and wording).
    """

    def __init__(self, group: str, builtin: dict[str, str],
                 error: Callable[[str, list[str]], Exception]) -> None:
        self.group = group
        self._builtin = dict(builtin)
        self._error = error
        self._loaded: dict[str, type[T]] = {}
        self._plugins: dict[str, str] | None = None

    def _plugin_references(self) -> dict[str, str]:
        if self._plugins is None:  # read once, and only when a name is not built in
            from importlib.metadata import entry_points

            self._plugins = {ep.name: ep.value for ep in entry_points(group=self.group)
                             if ep.name not in self._builtin}
        return self._plugins

    def register(self, name: str, reference: str) -> None:
        """Add (or replace) `name` at run time: `reference` is `"module:Class"`."""
        self._builtin[name] = reference
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        """Every valid name: the built-ins in their order, then plugins sorted."""
        return [*self._builtin, *sorted(self._plugin_references())]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._builtin
                                          or name in self._plugin_references())

    def get(self, name: str) -> type[T]:
        """The class registered as `name`; an unknown name raises the kind's error."""
        if name in self._loaded:
            return self._loaded[name]
        reference = self._builtin.get(name)
        if reference is None:
            reference = self._plugin_references().get(name)
        if reference is None:
            raise self._error(name, self.names())
        found = cast("type[T]", load(reference))
        self._loaded[name] = found
        return found
