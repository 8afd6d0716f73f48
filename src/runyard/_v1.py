"""v1's names on runyard's own classes, without the core importing `runyard.azureml`.

Several core classes are v1's classes too (`runyard.Run` is `azureml.core.run.Run` in the
mirror). `@v1_members("azureml.core.run.Run")` marks such a class; the table of v1's
ignored and refused names, and the stand-ins made from it, live in the mirror
(`runyard.azureml._surface`), which depends on the core and never the reverse.

Invariants:
- The core never imports `runyard.azureml`: a supervisor, a run's processes and a user
  of runyard's own API load none of it.
- Once `runyard.azureml` is imported (any v1 import), every marked class has its ignored
  and refused members, whichever was imported first: the classes marked before are
  completed then, the ones marked after as they are marked. A member the class defines
  is never replaced, and a class is completed once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

Completer = Callable[[str], Callable[[type], type]]

_marked: dict[type, str] = {}  # in the order classes are made: a base before its subclasses
_completer: Completer | None = None


def v1_members(v1_class: str) -> Callable[[T], T]:
    """A class decorator: `cls` is v1's `v1_class` (dotted path), to be given the members
    v1 has and runyard ignores or refuses once the mirror is loaded."""

    def mark(cls: T) -> T:
        _marked[cls] = v1_class
        if _completer is not None:
            _completer(v1_class)(cls)
        return cls

    return mark


def complete_with(completer: Completer) -> None:
    """Called by `runyard.azureml`: complete every marked class with `completer` (a
    `v1_class → class decorator`), now and for each class marked later."""
    global _completer
    if _completer is not None:
        return
    _completer = completer
    for cls, v1_class in list(_marked.items()):
        completer(v1_class)(cls)


def marked() -> dict[type, str]:
    """The marked classes and their v1 paths (for tests and tools)."""
    return dict(_marked)
