"""Validation of names and artifact paths, shared by every entry point.

Invariant: an artifact path that passes `artifact_path` is relative, POSIX, free of
'..', NUL and empty segments, so joining it under a root can never leave the root.
"""

from __future__ import annotations

import re

from runyard.errors import InvalidArtifactPathError, InvalidNameError

_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def experiment_name(name: object, *, what: str = "experiment name") -> str:
    """Return `name` if it is a valid experiment (or workspace) name, else raise."""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} must be a string, got {type(name).__name__}",
                               name=name)
    if _NAME.fullmatch(name):
        return name
    if not name:
        problem = "is empty"
    elif len(name) > 255:
        problem = f"is {len(name)} characters long (at most 255)"
    else:
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "-_"))})
        shown = ", ".join("a space" if c == " " else repr(c) for c in bad)
        problem = f"contains {shown}"
    raise InvalidNameError(
        f"{what} {name!r} {problem}; use 1-255 letters, digits, '-' or '_'",
        name=name,
    )


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
