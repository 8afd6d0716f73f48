"""Artifacts in a folder on this machine (file:// URLs)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from runyard.artifacts.base import CHUNK, ArtifactStore
from runyard.errors import ArtifactNotFoundError


def _temporary_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")


def copy_atomically(source: BinaryIO, destination: Path) -> int:
    """Write `source` to `destination` via a temporary name and a rename."""
    destination.parent.mkdir(parents=True, exist_ok=True)
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
        for folder, _dirs, files in os.walk(base):
            for name in files:
                if ".tmp-" in name and name.startswith("."):
                    continue
                yield Path(folder, name).relative_to(self.root).as_posix()

    def _open(self, key: str) -> BinaryIO:
        try:
            return open(self.root / key, "rb")
        except FileNotFoundError as e:
            raise ArtifactNotFoundError(f"no artifact {key!r} in {self.url}", key=key) from e

    def remove_tree(self, prefix: str) -> None:
        shutil.rmtree(self.root / prefix, ignore_errors=True)
