"""Artifacts in a folder on this machine (file:// URLs)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from runyard.artifacts._walk import make_folders, remove_tree, walk
from runyard.artifacts.base import CHUNK, ArtifactStore
from runyard.errors import ArtifactNotFoundError

NAME_MAX = 255  # bytes in one file name, on every file system Linux runs on
_SUFFIX = ".tmp-"  # then 12 hex digits
_TEMPORARY = re.compile(r"^\..+\.tmp-[0-9a-f]{12}$", re.DOTALL)


def temporary_name(name: str) -> str:
    """A hidden name beside `name` for a file being written: `.<name>.tmp-<12 hex>`, the
    name cut short (in bytes) so the whole stays within NAME_MAX, so a 255-byte name can
    be written atomically too."""
    room = NAME_MAX - 1 - len(_SUFFIX) - 12
    start = os.fsdecode(os.fsencode(name)[:room])
    return f".{start}{_SUFFIX}{os.urandom(6).hex()}"


def is_temporary(name: str) -> bool:
    """A file some writer is still writing (see `temporary_name`)."""
    return bool(_TEMPORARY.match(name))


def _temporary_beside(path: Path) -> Path:
    return path.with_name(temporary_name(path.name))


def copy_atomically(source: BinaryIO, destination: Path) -> int:
    """Write `source` to `destination` via a temporary name and a rename."""
    make_folders(destination.parent)
    temporary = _temporary_beside(destination)
    written = 0
    try:
        with open(temporary, "wb") as target:
            while chunk := source.read(CHUNK):
                target.write(chunk)
                written += len(chunk)
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written


class LocalArtifactStore(ArtifactStore):
    """A folder: keys are relative paths below it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.root = Path(unquote(urlparse(url).path))
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        return self.root / key

    def _put_stream(self, source: BinaryIO, key: str) -> int:
        return copy_atomically(source, self.root / key)

    def _get_file(self, key: str, local_path: Path) -> None:
        with self._open(key) as source:
            copy_atomically(source, local_path)

    def _exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def _list(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for file in walk(base).files:
            if not is_temporary(file.name.rpartition("/")[2]):
                yield f"{prefix}/{file.name}" if prefix else file.name

    def _open(self, key: str) -> BinaryIO:
        try:
            return open(self.root / key, "rb")
        except FileNotFoundError as e:
            raise ArtifactNotFoundError(f"no artifact {key!r} in {self.url}", key=key) from e

    def remove_tree(self, prefix: str) -> None:
        remove_tree(self.root / prefix)
