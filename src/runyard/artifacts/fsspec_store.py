"""Artifacts on any fsspec filesystem (memory://, s3://, gs://, az://, ...), and the
fsspec file operations datastores share with it.

Invariants:
- fsspec is imported here only, and this module only when a URL other than file:// is
  opened: `import runyard` and a run's `Run.get_context()` on a file:// workspace never
  load it.
- A key shows the whole file or nothing: a stream is written to a temporary key beside it
  (`.<name>.tmp-*`, `runyard._atomic.temporary_name`) and moved over the key when its
  last byte is written; a failure removes the temporary. A download is written to a
  temporary file on this machine and renamed. Listings skip temporaries.
- A missing package (s3fs, adlfs, gcsfs) is MissingExtraError naming it; a protocol fsspec
  does not know is UnknownBackendError.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from runyard._atomic import atomic_open, is_temporary, temporary_name
from runyard.artifacts.base import CHUNK, ArtifactStore
from runyard.errors import ArtifactNotFoundError, MissingExtraError, UnknownBackendError


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def filesystem_class(protocol: str, url: str, what: str = "URL") -> Any:
    """fsspec's filesystem class for `protocol`; a missing package becomes
    MissingExtraError, an unknown protocol UnknownBackendError (`what` names the URL's
    use in the message: "datastore URL", "artifact URL")."""
    import fsspec  # type: ignore[import-untyped]
    from fsspec.registry import known_implementations  # type: ignore[import-untyped]

    try:
        return fsspec.get_filesystem_class(protocol)
    except ImportError as e:
        known = known_implementations.get(protocol, {})
        package = str(known.get("class", "")).split(".")[0] or "its fsspec implementation"
        raise MissingExtraError(
            f"{protocol}:// needs {package}: pip install {package} ({what} {url!r})",
            protocol=protocol, package=package, url=url,
        ) from e
    except ValueError as e:
        raise UnknownBackendError(
            f"no filesystem for {protocol}:// in {what} {url!r}; fsspec knows "
            f"file://, s3://, az://, gs:// and the others in fsspec.available_protocols()",
            url=url, valid=["file", "s3", "az", "abfs", "gs"],
        ) from e


def open_filesystem(url: str, what: str = "URL") -> tuple[Any, str]:
    """(fsspec filesystem, root path without a trailing '/') for `url`."""
    import fsspec

    filesystem_class(protocol_of(url), url, what)  # the clear error for a missing package
    fs, root = fsspec.core.url_to_fs(url)
    return fs, str(root).rstrip("/")


def find_files(fs: Any, base: str) -> Iterator[tuple[str, int]]:
    """(path, size) of every file below the folder `base`, temporaries left out."""
    if not fs.exists(base) or not fs.isdir(base):
        return
    for path, info in sorted(fs.find(base, detail=True).items()):
        if info.get("type") == "directory" or is_temporary(path.rsplit("/", 1)[-1]):
            continue
        yield path, int(info.get("size") or 0)


def download_file(fs: Any, path: str, local_path: str | os.PathLike[str]) -> None:
    """Copy `path` on `fs` to `local_path` (its folder exists), whole or not at all."""
    with atomic_open(local_path) as target, fs.open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            target.write(chunk)


def upload_stream(fs: Any, source: BinaryIO, path: str) -> int:
    """Write `source` to `path` on `fs` under a temporary name moved over `path` at the
    end; return the bytes written."""
    folder, _, name = path.rpartition("/")
    temporary = f"{folder}/{temporary_name(name)}" if folder else temporary_name(name)
    written = 0
    try:
        with fs.open(temporary, "wb") as target:
            while chunk := source.read(CHUNK):
                target.write(chunk)
                written += len(chunk)
        fs.mv(temporary, path)
    except BaseException:
        with contextlib.suppress(Exception):
            if fs.exists(temporary):
                fs.rm(temporary)
        raise
    return written


class FsspecArtifactStore(ArtifactStore):
    """Keys are paths below the URL's root on its fsspec filesystem.

    Example:
        store = open_artifact_store("memory://runyard/artifacts")
        store.put_stream(io.BytesIO(b"hi"), "runs/1/outputs/a.txt")
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = open_filesystem(url, "artifact URL")

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def _key(self, path: str) -> str:
        """The key of a path that fsspec listed below the root (with or without '/')."""
        root = self.root.lstrip("/")
        return path.lstrip("/")[len(root):].lstrip("/")

    def _put_stream(self, source: BinaryIO, key: str) -> int:
        return upload_stream(self.fs, source, self._path(key))

    def _get_file(self, key: str, local_path: Path) -> None:
        from runyard.artifacts._walk import make_folders

        if not self._exists(key):
            raise ArtifactNotFoundError(f"no artifact {key!r} in {self.url}", key=key)
        make_folders(local_path.parent)
        download_file(self.fs, self._path(key), local_path)

    def _exists(self, key: str) -> bool:
        return bool(self.fs.isfile(self._path(key)))

    def _list(self, prefix: str) -> Iterator[str]:
        for path, _size in find_files(self.fs, self._path(prefix)):
            yield self._key(path)

    def _open(self, key: str) -> BinaryIO:
        try:
            handle: BinaryIO = self.fs.open(self._path(key), "rb")
        except FileNotFoundError as e:
            raise ArtifactNotFoundError(f"no artifact {key!r} in {self.url}", key=key) from e
        return handle

    def _remove_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
