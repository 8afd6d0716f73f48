"""Validation of names and artifact paths, shared by every entry point.

Invariant: an artifact path that passes `artifact_path` is relative, POSIX, free of
'..', NUL and empty segments, so joining it under a root can never leave the root.
"""

from __future__ import annotations

import re
from typing import Any

from runyard.errors import InvalidArtifactPathError, InvalidNameError, ValidationError


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


RUN_FILE_NAME_LIMIT = 1024  # characters: the run history's run_files.path column


def file_name_problem(name: str, *, text_only: bool = True,
                      limit: int | None = None) -> str | None:
    """Why the relative POSIX path `name`, found on a file system, cannot be kept under
    that very name (so that the name listed is the name that downloads it), or None.

    A backslash is a folder separator to runyard (as to Windows and Azure Blob Storage),
    so `a\\b` would come back as `a/b`; with `text_only`, bytes that are not UTF-8 are a
    problem too (names kept as text: the run history, object stores' keys)."""
    if text_only:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid UTF-8; runyard keeps file names as text"
    if "\\" in name:
        return ("has a backslash, which runyard reads as a folder separator (as Windows and "
                "Azure Blob Storage do), so it would come back under another name")
    if limit is not None and len(name) > limit:
        return f"is {len(name)} characters long; at most {limit} are kept"
    try:
        plain = artifact_path(name) == name
    except InvalidArtifactPathError:
        plain = False
    if plain:
        return None
    if re.match(r"^[A-Za-z]:", name):
        return (f"starts like a Windows drive ({name[:2]!r}), which runyard reads as an "
                f"absolute path")
    return "is not a plain relative path"


def process_argument(value: str, *, what: str) -> str:
    """Return `value` if a process can get it as an argument or environment value (no NUL
    byte: the kernel ends C strings there), else raise ValidationError."""
    if "\x00" in value:
        raise ValidationError(f"{what} {value!r} contains a NUL byte, which no process "
                              f"argument or environment value can hold", value=value)
    return value


def environment_variable_name(name: str, *, what: str = "environment variable") -> str:
    """Return `name` if it can name an environment variable (not empty, no '=' and no
    NUL: the environment is a list of NAME=value strings), else raise ValidationError."""
    if not name:
        problem = "is empty"
    elif "=" in name:
        problem = "contains '=', which ends a name in the NAME=value environment"
    elif "\x00" in name:
        problem = "contains a NUL byte"
    else:
        return name
    raise ValidationError(f"{what} name {name!r} {problem}; use letters, digits and '_'",
                          name=name)


def check_process_config(config: dict[str, Any]) -> None:
    """Refuse, at submit, a run whose script, arguments or environment variables no
    process could ever be started with (ValidationError naming the first one)."""
    process_argument(str(config.get("script", "")), what="script")
    for position, argument in enumerate(config.get("arguments") or []):
        process_argument(str(argument), what=f"argument {position}")
    definition = (config.get("environment") or {}).get("definition") or {}
    for source, variables in (("environment", definition.get("environment_variables")),
                              ("environment_variables", config.get("environment_variables"))):
        for name, value in (variables or {}).items():
            environment_variable_name(str(name), what=f"{source}: environment variable")
            process_argument(str(value), what=f"{source}: environment variable {name!r} "
                                              f"value")
