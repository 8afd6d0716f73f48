"""Artifacts in a folder on this machine (file:// URLs): the default, with plain os calls.

Invariants:
- Every write goes through `runyard._atomic`: a key shows the whole file or nothing, and
  a writer killed mid-copy leaves only a temporary (`.<name>.tmp-*`) that `list` skips
  and the keeper's recovery deletes.
- fsspec is never imported here: the file:// path costs what plain os calls cost.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from runyard._atomic import NAME_MAX, atomic_open, atomic_write, is_temporary, temporary_name
from runyard.artifacts._walk import make_folders, remove_tree, walk
from runyard.artifacts.base import ArtifactStore
from runyard.errors import ArtifactNotFoundError

__all__ = ["NAME_MAX", "LocalArtifactStore", "copy_atomically", "copy_file", "is_temporary",
           "temporary_name"]

_SENDFILE = sys.platform == "linux"  # file-to-file sendfile(2) is Linux's
_NO_SENDFILE = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV, errno.ENOTSOCK)


def copy_atomically(source: BinaryIO, destination: str | os.PathLike[str]) -> int:
    """Write the stream `source` to `destination` (its folders made), whole or not at all;
    return the bytes written."""
    make_folders(os.path.dirname(os.fspath(destination)))
    return atomic_write(destination, source)


def copy_file(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> int:
    """Copy the local file `source` to `destination` (its folder exists), whole or not at
    all, in the kernel where it can (sendfile); return its size."""
    with open(source, "rb", buffering=0) as reader, \
            atomic_open(destination, buffering=0) as writer:
        if not _sendfile(reader.fileno(), writer.fileno()):
            shutil.copyfileobj(reader, writer, 1 << 20)
        return os.lseek(writer.fileno(), 0, os.SEEK_CUR)


def _sendfile(source: int, target: int) -> bool:
    """Copy in the kernel (a few syscalls a file, half of shutil.copyfile's time for small
    files); False where the kernel refuses before any byte moved."""
    if not _SENDFILE:
        return False
    try:
        while os.sendfile(target, source, None, 1 << 30):
            pass
    except OSError as e:
        if e.errno in _NO_SENDFILE and os.lseek(target, 0, os.SEEK_CUR) == 0:
            return False
        raise
    return True


class LocalArtifactStore(ArtifactStore):
    """A folder: keys are relative paths below it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.root = Path(unquote(urlparse(url).path))
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        return self.root / key

    def _local_path(self, key: str) -> Path | None:
        return self.root / key

    def _put_file(self, local_path: str | os.PathLike[str], key: str) -> int:
        destination = self.root / key
        make_folders(destination.parent)
        return copy_file(local_path, destination)

    def _put_stream(self, source: BinaryIO, key: str) -> int:
        return copy_atomically(source, self.root / key)

    def _get_file(self, key: str, local_path: Path) -> None:
        make_folders(local_path.parent)
        try:
            copy_file(self.root / key, local_path)
        except FileNotFoundError as e:
            if (self.root / key).is_file():
                raise  # the destination's folder went away, not the artifact
            raise ArtifactNotFoundError(f"no artifact {key!r} in {self.url}", key=key) from e

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

    def _remove_prefix(self, prefix: str) -> None:
        remove_tree(self.root / prefix)
