"""Registering a model version: copy its files into the artifact store, then insert its row.

Invariants:
- A version's files are copied under `models/<name>/<uuid>/<root>[/...]` *before* its row
  is inserted; each file is written atomically by the artifact store, and its sha256 is
  taken from the very bytes written.
- If anything fails (a file that cannot be read, the store refusing the row, Ctrl-C), the
  files copied so far are removed: a version is either whole (row and every file) or not
  there. A process killed mid-copy can leave files under a fresh `<uuid>` that no row
  points to; nothing lists or downloads them.
- Nothing writes under a registered version's prefix again: its files are immutable.
- The record of the files is `{"prefix", "root", "files": [{"path", "size", "sha256"}]}`;
  each `path` is relative to `prefix` and starts with `root` (the basename of what was
  registered), so a file model is `[{"path": root}]` and a folder's files are `root/...`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from runyard._validation import artifact_path, checked_name, file_name_problem
from runyard.artifacts._walk import shown, walk
from runyard.errors import SourceNotFoundError, ValidationError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

_SHORT_TEXT = 64  # the width of the framework columns


def model_name(name: object) -> str:
    """Return `name` if it is a valid model name, else raise InvalidNameError."""
    return checked_name(name, what="model name", allowed="-_.", first_alnum=True)


def string_map(value: object, what: str) -> dict[str, str]:
    """Tags or properties as a plain dict of str to str (None becomes '')."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} must be a dict of str to str, got "
                              f"{type(value).__name__}", value=value)
    clean = {str(k): "" if v is None else str(v) for k, v in value.items()}
    if "" in clean:
        raise ValidationError(f"{what} has an empty key", value=value)
    return clean


def metadata(*, tags: object, properties: object, description: object,
             model_framework: object, model_framework_version: object) -> dict[str, Any]:
    """The checked keyword arguments of `AbstractStore.register_model`, besides files."""
    if description is not None and not isinstance(description, str):
        raise ValidationError(f"description must be a string, got {type(description).__name__}")
    for what, text in (("model_framework", model_framework),
                       ("model_framework_version", model_framework_version)):
        if text is not None and (not isinstance(text, str) or len(text) > _SHORT_TEXT):
            raise ValidationError(f"{what} must be a string of at most {_SHORT_TEXT} "
                                  f"characters, got {text!r}", value=text)
    return {"tags": string_map(tags, "tags"), "properties": string_map(properties, "properties"),
            "description": description, "framework": model_framework,
            "framework_version": model_framework_version}


@dataclass(frozen=True)
class SourceFile:
    """One file to register: its path in the model (starting with the root) and a way to
    read it."""

    path: str
    open: Callable[[], BinaryIO]


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: open(path, "rb")


def local_files(model_path: str | os.PathLike[str],
                child_paths: Iterable[str] | None = None) -> tuple[str, list[SourceFile]]:
    """The root name and files of a local file or folder (only `child_paths` of a folder,
    when given)."""
    given = Path(model_path)
    if not given.exists():
        raise SourceNotFoundError(f"model_path {str(model_path)!r} does not exist (looked for "
                                  f"{given.absolute()})", path=str(model_path))
    root = Path(os.path.abspath(given)).name
    if not root:
        raise ValidationError(f"model_path {str(model_path)!r} is the file system root; "
                              f"give a file or folder below it", path=str(model_path))
    if given.is_file():
        if child_paths:
            raise ValidationError(f"child_paths need model_path to be a folder; "
                                  f"{str(model_path)!r} is a file", path=str(model_path))
        return root, [SourceFile(root, _opener(given))]
    found = walk(given)  # links followed inside the folder only (runyard.artifacts._walk)
    for warning in found.warnings:
        warnings.warn(f"model_path {str(model_path)!r}: {warning}", stacklevel=4)
    by_name = {file.name: file for file in found.files}
    chosen: list[str] = []
    if child_paths:
        for child in child_paths:
            part = artifact_path(child, what="child path")
            below = [name for name in by_name if name == part or name.startswith(part + "/")]
            if not below:
                raise SourceNotFoundError(f"child path {child!r} is not in {given}",
                                          path=str(given / part))
            chosen += below
    else:
        chosen = list(by_name)
    if not chosen:
        raise ValidationError(f"model_path {str(model_path)!r} is a folder without files; "
                              f"there is nothing to register", path=str(model_path))
    for name in chosen:
        problem = file_name_problem(name, text_only=False)
        if problem is not None:
            raise ValidationError(f"model_path {str(model_path)!r} has a file "
                                  f"{shown(name)!r} that cannot be registered under its "
                                  f"name: it {problem}; rename it", path=name)
    return root, [SourceFile(f"{root}/{name}", _opener(Path(by_name[name].path)))
                  for name in sorted(set(chosen))]


class _HashingReader:
    """A read-only stream that hashes what passes through it."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


def register(workspace: Workspace, name: str, root: str, files: list[SourceFile],
             **row: Any) -> int:
    """Copy `files` into the artifact store and insert the next version of `name`; return
    the version. Nothing is left behind when it fails."""
    artifacts = workspace.artifacts
    prefix = f"models/{name}/{uuid.uuid4().hex}"
    record: dict[str, Any] = {"prefix": prefix, "root": root, "files": []}
    try:
        for file in files:
            with file.open() as source:
                reader = _HashingReader(source)
                size = artifacts.put_stream(cast(BinaryIO, reader), f"{prefix}/{file.path}")
            record["files"].append({"path": file.path, "size": size,
                                    "sha256": reader.digest.hexdigest()})
        version = workspace.store.register_model(name, files=record, **row)
    except BaseException:
        artifacts.remove_prefix(prefix)
        raise
    return version
