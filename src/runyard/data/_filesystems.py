"""Where a datastore's bytes live: a folder on this machine, or any fsspec filesystem.

Invariants:
- Keys are validated relative POSIX paths (`runyard._validation.artifact_path`), so a
  key joined under the root never leaves it.
- On a local folder (file://) a file appears under its key whole or not at all: it is
  written to a temporary name beside it and renamed. Object stores (s3://, az://, gs://)
  make an object visible only when its upload completes, so they are written directly.
- A local download is always written to a temporary name and renamed.
- The file operations are the artifact layer's, not copies of them: `copy_file`
  (`artifacts/local.py`: sendfile, through `runyard._atomic`) on a folder, and
  `artifacts/fsspec_store.py`'s filesystem lookup (with its errors), listing (temporaries
  left out) and atomic download elsewhere. That module imports fsspec inside its
  functions: importing runyard never loads it.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from runyard._atomic import is_temporary
from runyard.artifacts._walk import make_folders
from runyard.artifacts.fsspec_store import (
    download_file,
    filesystem_class,
    find_files,
    open_filesystem,
    protocol_of,
)
from runyard.artifacts.local import copy_file
from runyard.errors import ValidationError

__all__ = ["Backend", "FsspecBackend", "LocalBackend", "is_temporary", "local_sizes",
           "normalize_url", "open_backend", "protocol_of"]

_WHAT = "datastore URL"


def normalize_url(url: str) -> str:
    """A datastore URL as it is registered: a local path or file:// URL becomes an
    absolute file:// URL; other URLs lose a trailing '/'; the filesystem's package
    must be importable (else MissingExtraError, naming it)."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(f"a datastore URL must be a non-empty string, got {url!r}",
                              url=url)
    if "://" not in url:
        return Path(url).expanduser().resolve().as_uri()
    protocol = protocol_of(url)
    if protocol == "file":
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise ValidationError(
                f"file URL {url!r} names host {parsed.netloc!r}; a file:// datastore is a "
                f"folder on this machine, like file:///data/mnist", url=url)
        return Path(unquote(parsed.path)).resolve().as_uri()
    filesystem_class(protocol, url, _WHAT)
    return url.rstrip("/")


class Backend(abc.ABC):
    """The operations a datastore needs, on keys relative to its root."""

    url: str
    local_root: Path | None = None
    """The folder on this machine, for a file:// datastore; None elsewhere."""
    workers: int = 8
    """Threads for parallel copies: many for stores behind a network, whose requests wait."""

    @abc.abstractmethod
    def sizes(self, keys: list[str]) -> dict[str, int]:
        """The size of each of `keys` that exists; -1 where a folder is in the way."""

    @abc.abstractmethod
    def list_files(self, folder: str) -> list[tuple[str, int]]:
        """(key, size) of every file below the folder `folder` ('' for the root)."""

    @abc.abstractmethod
    def is_file(self, key: str) -> bool: ...

    @abc.abstractmethod
    def prepare_folders(self, keys: list[str]) -> None:
        """Make the folders that will hold `keys`, once each, before parallel writes."""

    @abc.abstractmethod
    def put(self, local_path: str, key: str) -> None: ...

    @abc.abstractmethod
    def get(self, key: str, local_path: str) -> None:
        """Copy `key` to `local_path` (its folder exists), via a temporary name."""


class LocalBackend(Backend):
    """A folder on this machine (file:// URLs), with plain os calls: the fast path."""

    # A small file's copy is a few short syscalls, so threads mostly take turns at the
    # GIL: on 2 CPUs one thread is fastest (measured: 4 threads take 2.5x as long); with
    # more CPUs a few threads hide the latency of a slow or network disk.
    workers = max(1, min(4, (os.cpu_count() or 1) // 2))

    def __init__(self, url: str) -> None:
        self.url = url
        self.local_root = Path(unquote(urlparse(url).path))
        self.root = str(self.local_root)  # strings, not Paths: this is the hot path

    def _path(self, key: str) -> str:
        return os.path.join(self.root, key) if key else self.root

    def sizes(self, keys: list[str]) -> dict[str, int]:
        sizes = local_sizes([self._path(key) for key in keys])
        return {key: sizes[path] for key in keys if (path := self._path(key)) in sizes}

    def list_files(self, folder: str) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        _scan(self._path(folder), f"{folder}/" if folder else "", found)
        return sorted(found)

    def is_file(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def prepare_folders(self, keys: list[str]) -> None:
        for folder in sorted({key.rpartition("/")[0] for key in keys}):
            make_folders(self._path(folder))

    def put(self, local_path: str, key: str) -> None:
        copy_file(local_path, self._path(key))

    def get(self, key: str, local_path: str) -> None:
        copy_file(self._path(key), local_path)


def local_sizes(paths: list[str]) -> dict[str, int]:
    """Sizes of the local `paths` that exist; -1 for a folder in the way. One scan per
    folder, and none for a folder that is not there (a fresh copy costs no stat a file)."""
    by_folder: dict[str, set[str]] = {}
    for path in paths:
        folder, name = os.path.split(path)
        by_folder.setdefault(folder, set()).add(name)
    found = {}
    for folder, names in by_folder.items():
        try:
            entries = os.scandir(folder or ".")
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.name in names:
                    path = os.path.join(folder, entry.name)
                    found[path] = -1 if entry.is_dir() else entry.stat().st_size
    return found


def _scan(folder: str, prefix: str, found: list[tuple[str, int]]) -> None:
    """(key, size) of the files below `folder`, keys starting with `prefix`; no recursion,
    so a deep tree cannot exhaust the stack."""
    stack = [(folder, prefix)]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{prefix}{entry.name}/"))
                elif not is_temporary(entry.name):
                    try:
                        found.append((f"{prefix}{entry.name}", entry.stat().st_size))
                    except FileNotFoundError:  # replaced or removed while we looked
                        continue


class FsspecBackend(Backend):
    """Any fsspec filesystem: object stores, memory://, ..."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = open_filesystem(url, _WHAT)

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def _key(self, path: str) -> str:
        """The key of a path that fsspec listed below the root (with or without '/')."""
        root = self.root.lstrip("/")
        return path.lstrip("/")[len(root):].lstrip("/")

    def sizes(self, keys: list[str]) -> dict[str, int]:
        if not keys:
            return {}
        # one listing of the folder the keys share, not a request per key
        common = os.path.commonpath([os.path.dirname(k) or "." for k in keys])
        wanted = set(keys)
        return {k: s for k, s in self.list_files("" if common == "." else common) if k in wanted}

    def list_files(self, folder: str) -> list[tuple[str, int]]:
        return sorted((self._key(path), size)
                      for path, size in find_files(self.fs, self._path(folder)))

    def is_file(self, key: str) -> bool:
        return bool(self.fs.isfile(self._path(key)))

    def prepare_folders(self, keys: list[str]) -> None:
        for folder in sorted({os.path.dirname(self._path(k)) for k in keys}):
            self.fs.makedirs(folder, exist_ok=True)

    def put(self, local_path: str, key: str) -> None:
        self.fs.put_file(local_path, self._path(key))

    def get(self, key: str, local_path: str) -> None:
        download_file(self.fs, self._path(key), local_path)


def open_backend(url: str) -> Backend:
    if protocol_of(url) == "file":
        return LocalBackend(url)
    return FsspecBackend(url)
