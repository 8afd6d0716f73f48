"""runyard's errors: the hierarchy drawn in errors.py is the code's, and foreign errors
(SQLAlchemy, the OS and fsspec, Ray) reach callers as the most specific runyard error,
raised from the original, at every boundary: the run history, the artifact store, the CLI."""

from __future__ import annotations

import inspect
import re

import runyard.errors
from runyard.errors import RunyardError

# -- the drawing in errors.py's docstring is the hierarchy ---------------------------------
_TREE_LINE = re.compile(r"^(?P<indent>(?:│   |    )*)(?:├── |└── )?(?P<name>[A-Z]\w+)"
                        r"(?: \((?P<extra>[\w, ]+)\))?(?:\s{2,}.*)?$")


def _drawn_tree() -> list[tuple[str, str | None, tuple[str, ...]]]:
    """(class, drawn parent, drawn stdlib bases) for every line of the drawing."""
    doc = runyard.errors.__doc__ or ""
    block = doc.split("::\n", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    rows: list[tuple[str, str | None, tuple[str, ...]]] = []
    parents: list[str] = []
    for raw in block.splitlines():
        line = raw[4:]  # the literal block's own indent
        match = _TREE_LINE.match(line)
        assert match, f"cannot read the line {raw!r} of errors.py's drawing"
        depth = len(match["indent"]) // 4 + (0 if line.startswith(match["name"]) else 1)
        del parents[depth:]
        extra = tuple(b.strip() for b in match["extra"].split(",")) if match["extra"] else ()
        rows.append((match["name"], parents[-1] if parents else None, extra))
        parents.append(match["name"])
    return rows


def _public_errors() -> dict[str, type[BaseException]]:
    return {name: cls for name, cls in vars(runyard.errors).items()
            if inspect.isclass(cls) and issubclass(cls, BaseException)
            and not name.startswith("_") and cls.__module__ == "runyard.errors"}


def test_every_error_is_drawn_once_under_its_real_base() -> None:
    drawn = _drawn_tree()
    names = [name for name, _, _ in drawn]
    assert sorted(n for n in names if names.count(n) > 1) == [], "drawn more than once"
    assert sorted(set(_public_errors()) - set(names)) == [], "classes missing in the drawing"
    assert sorted(set(names) - set(_public_errors())) == [], "drawn but not in errors.py"
    for name, parent, extra in drawn:
        cls = _public_errors()[name]
        runyard_bases = [b.__name__ for b in cls.__bases__ if issubclass(b, RunyardError)]
        other_bases = tuple(b.__name__ for b in cls.__bases__
                            if not issubclass(b, RunyardError))
        if parent is None:
            assert cls is RunyardError
            continue
        assert runyard_bases == [parent], f"{name} is drawn under {parent}, " \
                                          f"its runyard base is {runyard_bases}"
        assert extra == other_bases, f"{name} is drawn with {extra}, its other bases " \
                                     f"are {other_bases}"


def test_the_drawing_reader_sees_a_wrong_drawing() -> None:
    # the check above is only as good as its reader: a class drawn under the wrong base
    # must come out with that base
    doc = runyard.errors.__doc__ or ""
    wrong = doc.replace("    │   ├── InvalidNameError", "    ├── InvalidNameError", 1)
    original = runyard.errors.__doc__
    try:
        runyard.errors.__doc__ = wrong
        assert ("InvalidNameError", "RunyardError", ()) in _drawn_tree()
    finally:
        runyard.errors.__doc__ = original
    assert ("InvalidNameError", "ValidationError", ()) in _drawn_tree()
    assert ("StoreLockedError", "StoreError", ("TimeoutError",)) in _drawn_tree()
