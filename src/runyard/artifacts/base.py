"""The artifact store contract and its registry by URL scheme.

file:// is a folder on this machine (`artifacts/local.py`, plain os calls, the default);
every other scheme fsspec knows (memory://, s3://, gs://, az://, ...) is the fsspec store
(`artifacts/fsspec_store.py`), registered for that scheme the first time it is opened;
a plugin in the `runyard.artifact_stores` entry-point group wins over it.

Invariants:
- Keys are validated relative POSIX paths (`runyard._validation.artifact_path`).
- A file appears under its key whole or not at all: backends write a temporary name
  (`runyard._atomic`) and rename, so a crash mid-copy never leaves half a file under a
  real name.
- OS and fsspec errors leave the public methods as runyard's ArtifactStoreError family
  (`runyard._foreign`, boundary "artifacts"), naming the key and the store.
- No caller asks which backend it has: what differs is a hook (`local_path`,
  `remove_prefix`), never an isinstance or a getattr.
"""

from __future__ import annotations

import abc
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from runyard._foreign import mapped, without_password
from runyard._registry import Registry, load
from runyard._validation import artifact_path
from runyard.errors import UnknownBackendError

CHUNK = 1 << 20


class ArtifactStore(abc.ABC):
    """Where run files and snapshot blobs live."""

    url: str

    def put_file(self, local_path: str | Path, key: str) -> int:
        """Copy a local file under `key`; return its size."""
        with self._mapped(key, f"from {local_path}"):
            return self._put_file(local_path, artifact_path(key))

    def put_stream(self, source: BinaryIO, key: str) -> int:
        """Copy a readable binary stream under `key`, atomically; return the bytes written."""
        with self._mapped(key):
            return self._put_stream(source, artifact_path(key))

    def get_file(self, key: str, local_path: str | Path) -> None:
        """Copy `key` to `local_path` (written to a temporary name, then renamed)."""
        with self._mapped(key, f"to {local_path}"):
            self._get_file(artifact_path(key), Path(local_path))

    def exists(self, key: str) -> bool:
        with self._mapped(key):
            return self._exists(artifact_path(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under the folder `prefix`."""
        return self._mapped(prefix).over(self._list(artifact_path(prefix) if prefix else ""))

    def open(self, key: str) -> BinaryIO:
        with self._mapped(key):
            return self._open(artifact_path(key))

    def local_path(self, key: str) -> Path | None:
        """Where `key` (a file or a folder of keys) is on this machine's file system, for
        a store that is a folder here; None for every other store (read it with `open`
        or `get_file`)."""
        return self._local_path(artifact_path(key))

    def remove_prefix(self, prefix: str) -> None:
        """Remove every key under the folder `prefix` (nothing there: nothing to do)."""
        with self._mapped(prefix):
            self._remove_prefix(artifact_path(prefix))

    # -- content-addressed blobs (snapshots) ----------------------------------------------
    @staticmethod
    def blob_key(digest: str) -> str:
        return f"blobs/sha256/{digest[:2]}/{digest[2:]}"

    def put_blob(self, local_path: str | Path, digest: str) -> bool:
        """Store a file under its sha256 unless already there; True when bytes were written."""
        key = self.blob_key(digest)
        with self._mapped(key):
            if self._exists(key):
                return False
        self.put_file(local_path, key)
        return True

    def put_blob_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        key = self.blob_key(digest)
        with self._mapped(key):
            if not self._exists(key):
                import io

                self._put_stream(io.BytesIO(data), key)
        return digest

    def read_blob(self, digest: str) -> bytes:
        with self._mapped(self.blob_key(digest)), self._open(self.blob_key(digest)) as handle:
            return handle.read()

    def _mapped(self, key: str, how: str = "") -> mapped:
        """Foreign errors of an operation on `key` as runyard's, naming it and the store."""
        return mapped("artifacts", f"artifact {key!r}{' ' + how if how else ''} in "
                                   f"{without_password(self.url)}", key=key)

    # -- backend hooks --------------------------------------------------------------------
    def _put_file(self, local_path: str | os.PathLike[str], key: str) -> int:
        with open(local_path, "rb") as source:
            return self._put_stream(source, key)

    def _local_path(self, key: str) -> Path | None:  # noqa: ARG002 - not a folder here
        return None

    @abc.abstractmethod
    def _remove_prefix(self, prefix: str) -> None: ...
    @abc.abstractmethod
    def _put_stream(self, source: BinaryIO, key: str) -> int: ...
    @abc.abstractmethod
    def _get_file(self, key: str, local_path: Path) -> None: ...
    @abc.abstractmethod
    def _exists(self, key: str) -> bool: ...
    @abc.abstractmethod
    def _list(self, prefix: str) -> Iterator[str]: ...
    @abc.abstractmethod
    def _open(self, key: str) -> BinaryIO: ...


#: artifact stores by URL scheme; plugins: the `runyard.artifact_stores` entry-point group
#: (a scheme found in none of them but known to fsspec gets FSSPEC_STORE)
FSSPEC_STORE = "runyard.artifacts.fsspec_store:FsspecArtifactStore"
ARTIFACT_STORES: Registry[ArtifactStore] = Registry(
    "runyard.artifact_stores", {"file": "runyard.artifacts.local:LocalArtifactStore"},
    lambda scheme, valid: UnknownBackendError(
        f"no artifact store for {scheme!r}; known schemes: {', '.join(valid)}", valid=valid))


def _fsspec_knows(scheme: str) -> bool:
    from fsspec.registry import known_implementations, registry  # type: ignore[import-untyped]

    return scheme in known_implementations or scheme in registry


def open_artifact_store(url: str) -> ArtifactStore:
    """Open the artifact store at `url`: file:///path, or any URL fsspec opens
    (memory://bucket/x, s3://bucket/prefix, ...)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ARTIFACT_STORES:
        if not scheme or not _fsspec_knows(scheme):
            raise UnknownBackendError(
                f"no artifact store for {scheme or 'a URL without scheme'!r} in {url!r}; "
                f"known schemes: {', '.join(ARTIFACT_STORES.names())}, and every protocol "
                f"fsspec knows (memory, s3, gs, az, ...)",
                url=url, valid=ARTIFACT_STORES.names(),
            )
        store = cast("type[ArtifactStore]", load(FSSPEC_STORE))(url)  # type: ignore[call-arg]
        ARTIFACT_STORES.register(scheme, FSSPEC_STORE)  # once it opened: the next is quick
        return store
    return ARTIFACT_STORES.get(scheme)(url)  # type: ignore[call-arg]
