"""Validation of names and artifact paths, shared by every entry point.

Invariant: an artifact path that passes `artifact_path` is relative, POSIX, free of
'..', NUL and empty segments, so joining it under a root can never leave the root.
"""

from __future__ import annotations

import re

from runyard.errors import InvalidArtifactPathError, InvalidNameError


def checked_name(name: object, *, what: str, allowed: str = "-_",
                 first_alnum: bool = False) -> str:
    """Return `name` if it is 1-255 ASCII letters, digits and `allowed` characters (and,
    with `first_alnum`, starts with a letter or digit), else raise InvalidNameError
    saying exactly what is wrong."""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} must be a string, got {type(name).__name__}",
                               name=name)

    def ok(character: str) -> bool:
        return character.isascii() and (character.isalnum() or character in allowed)

    if name and len(name) <= 255 and all(map(ok, name)) and \
            (not first_alnum or (name[0].isascii() and name[0].isalnum())):
        return name
    if not name:
        problem = "is empty"
    elif len(name) > 255:
        problem = f"is {len(name)} characters long (at most 255)"
    elif first_alnum and not (name[0].isascii() and name[0].isalnum()):
        problem = f"starts with {name[0]!r}"
    else:
        bad = sorted({c for c in name if not ok(c)})
        problem = "contains " + ", ".join("a space" if c == " " else repr(c) for c in bad)
    shown = ", ".join(repr(c) for c in allowed[:-1]) + f" or {allowed[-1]!r}"
    start = ", starting with a letter or digit" if first_alnum else ""
    raise InvalidNameError(f"{what} {name!r} {problem}; use 1-255 letters, digits, "
                           f"{shown}{start}", name=name)


def experiment_name(name: object, *, what: str = "experiment name") -> str:
    """Return `name` if it is a valid experiment (or workspace) name, else raise."""
    return checked_name(name, what=what)


def artifact_path(path: object, *, what: str = "artifact path") -> str:
    """Normalise and check a run file / blob path; raise InvalidArtifactPathError if unsafe."""
    if not isinstance(path, str):
        raise InvalidArtifactPathError(
            f"{what} must be a string, got {type(path).__name__}", path=path
        )
    if "\x00" in path:
        raise InvalidArtifactPathError(f"{what} {path!r} contains a NUL byte", path=path)
    normal = path.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        raise InvalidArtifactPathError(
            f"{what} {path!r} is absolute; use a path relative to the run, like 'outputs/model'",
            path=path,
        )
    parts = [p for p in normal.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArtifactPathError(
            f"{what} {path!r} contains '..'; paths must stay inside the run", path=path
        )
    if not parts:
        raise InvalidArtifactPathError(f"{what} {path!r} is empty", path=path)
    return "/".join(parts)


def artifact_prefix(prefix: str | None) -> str:
    """Like `artifact_path`, but None or '' mean 'everything' and are returned as '', and
    a trailing '/' is kept ("logs/" must not match "logsbackup/...")."""
    if prefix is None or prefix == "":
        return ""
    clean = artifact_path(prefix, what="prefix")
    return clean + "/" if prefix.endswith("/") else clean
