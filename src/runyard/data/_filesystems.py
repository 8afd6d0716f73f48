"""Where a datastore's bytes live: a folder on this machine, or any fsspec filesystem.

Invariants:
- Keys are validated relative POSIX paths (`runyard._validation.artifact_path`), so a
  key joined under the root never leaves it.
- On a local folder (file://) a file appears under its key whole or not at all: it is
  written to a temporary name beside it and renamed. Object stores (s3://, az://, gs://)
  make an object visible only when its upload completes, so they are written directly.
- A local download is always written to a temporary name and renamed.
- fsspec is imported here, inside functions: importing runyard never loads it.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from runyard.artifacts._walk import make_folders
from runyard.artifacts.local import is_temporary as is_temporary_name
from runyard.artifacts.local import temporary_name
from runyard.errors import MissingExtraError, UnknownBackendError, ValidationError

_SENDFILE = sys.platform == "linux"  # file-to-file sendfile(2) is Linux's
_NO_SENDFILE = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV, errno.ENOTSOCK)


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def temporary_beside(path: Path) -> Path:
    return path.with_name(temporary_name(path.name))


def is_temporary(name: str) -> bool:
    """A file another upload is still writing (see `temporary_beside`)."""
    return is_temporary_name(name)


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
    filesystem_class(protocol, url)
    return url.rstrip("/")


def filesystem_class(protocol: str, url: str) -> Any:
    """fsspec's filesystem class for `protocol`; a missing package becomes
    MissingExtraError, an unknown protocol UnknownBackendError."""
    import fsspec  # type: ignore[import-untyped]
    from fsspec.registry import known_implementations  # type: ignore[import-untyped]

    try:
        return fsspec.get_filesystem_class(protocol)
    except ImportError as e:
        known = known_implementations.get(protocol, {})
        package = str(known.get("class", "")).split(".")[0] or "its fsspec implementation"
        raise MissingExtraError(
            f"{protocol}:// needs {package}: pip install {package} (datastore URL {url!r})",
            protocol=protocol, package=package, url=url,
        ) from e
    except ValueError as e:
        raise UnknownBackendError(
            f"no filesystem for {protocol}:// in datastore URL {url!r}; fsspec knows "
            f"file://, s3://, az://, gs:// and the others in fsspec.available_protocols()",
            url=url, valid=["file", "s3", "az", "abfs", "gs"],
        ) from e


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
        copy_atomically(local_path, self._path(key))

    def get(self, key: str, local_path: str) -> None:
        copy_atomically(self._path(key), local_path)


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
        import fsspec

        self.url = url
        filesystem_class(protocol_of(url), url)  # the clear error for a missing package
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = str(root).rstrip("/")

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
        base = self._path(folder)
        if not self.fs.exists(base) or not self.fs.isdir(base):
            return []
        found = []
        for path, info in self.fs.find(base, detail=True).items():
            if info.get("type") == "directory" or is_temporary(path.rsplit("/", 1)[-1]):
                continue
            found.append((self._key(path), int(info.get("size") or 0)))
        return sorted(found)

    def is_file(self, key: str) -> bool:
        return bool(self.fs.isfile(self._path(key)))

    def prepare_folders(self, keys: list[str]) -> None:
        for folder in sorted({os.path.dirname(self._path(k)) for k in keys}):
            self.fs.makedirs(folder, exist_ok=True)

    def put(self, local_path: str, key: str) -> None:
        self.fs.put_file(local_path, self._path(key))

    def get(self, key: str, local_path: str) -> None:
        temporary = temporary_beside(Path(local_path))
        try:
            self.fs.get_file(self._path(key), str(temporary))
            os.replace(temporary, local_path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def copy_atomically(source: str, destination: str) -> None:
    """Copy a local file to a temporary name beside `destination` and rename it there."""
    folder, name = os.path.split(destination)
    temporary = os.path.join(folder, temporary_name(name))
    try:
        with open(source, "rb", buffering=0) as reader, \
                open(temporary, "xb", buffering=0) as writer:
            if not _sendfile(reader.fileno(), writer.fileno()):
                shutil.copyfileobj(reader, writer, 1 << 20)
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


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


def open_backend(url: str) -> Backend:
    if protocol_of(url) == "file":
        return LocalBackend(url)
    return FsspecBackend(url)
