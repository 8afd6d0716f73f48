"""Writing a file or a folder whole or not at all: one helper for every atomic write.

A file is written under a temporary name beside its target and renamed over it when the
last byte is down; a folder is filled under a temporary name and renamed into place.

    atomic_write(path, b"bytes" | "text" | a readable stream)   -> bytes written
    with atomic_open(path, "w") as handle: ...                   a writer that writes itself
    with atomic_folder(path) as folder: ...                      a folder, whole or absent

Invariants:
- Under its real name a file or a folder is the old one, the new one whole, or absent;
  never half. A writer that raises, a full disk (ENOSPC at a write or at the close that
  flushes) and a failing rename all remove the temporary before the error propagates.
- A temporary is `.<name>.tmp-<12 hex digits>` in the target's folder (the same file
  system, so the rename is atomic), cut short so it fits NAME_MAX bytes: `is_temporary`
  recognises it, so listings skip it and the keeper's recovery
  (`supervisor/_recover.py`) deletes one a killed writer left behind.
- `durable=True` also fsyncs the file before the rename and its folder after, so the new
  content survives a power loss, not only a crash of the process. For small records
  (a workspace's config); bulk copies (outputs, datastores) go without, because an fsync
  a file makes copying many small files many times slower.
- Standard library only, and nothing heavy imported: the runtime may use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO, Protocol

NAME_MAX = 255  # bytes in one file name, on every file system Linux runs on
_SUFFIX = ".tmp-"  # then 12 hex digits
_TEMPORARY = re.compile(r"^\..+\.tmp-[0-9a-f]{12}$", re.DOTALL)
_CHUNK = 1 << 20
_MODES = {"w": "x", "wt": "xt", "wb": "xb"}


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def temporary_name(name: str) -> str:
    """A hidden name beside `name` for something being written: `.<name>.tmp-<12 hex>`,
    the name cut short (in bytes) so the whole stays within NAME_MAX, so a 255-byte name
    can be written atomically too."""
    room = NAME_MAX - 1 - len(_SUFFIX) - 12
    start = os.fsdecode(os.fsencode(name)[:room])
    return f".{start}{_SUFFIX}{os.urandom(6).hex()}"


def is_temporary(name: str) -> bool:
    """A file or folder some writer is still writing (see `temporary_name`)."""
    return bool(_TEMPORARY.match(name))


def temporary_beside(path: str | os.PathLike[str]) -> str:
    """A fresh temporary name in the folder of `path`, for `path`."""
    folder, name = os.path.split(os.fspath(path))
    return os.path.join(folder, temporary_name(name))


def _sync_folder(folder: str) -> None:
    descriptor = os.open(folder or ".", os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class atomic_open:
    """`open(path, mode)` for writing, whole or not at all: the handle writes a temporary
    beside `path`, renamed over it when the block ends without an error; an error (the
    block's own, a full disk at the final flush, the rename) removes the temporary.

    `mode` is "wb" (default), "w" or "wt"; `encoding` defaults to UTF-8 in text mode.
    The temporary is created exclusively ("x"), so two writers never share one.

    Example:
        with atomic_open(folder / "config.json", "w", durable=True) as handle:
            json.dump(config, handle)
    """

    def __init__(self, path: str | os.PathLike[str], mode: str = "wb", *,
                 durable: bool = False, buffering: int = -1,
                 encoding: str | None = None) -> None:
        if mode not in _MODES:
            raise ValueError(f"atomic_open writes a file anew: mode must be one of "
                             f"{', '.join(_MODES)}, got {mode!r}")
        self.path = os.fspath(path)
        self.temporary = temporary_beside(self.path)
        self._mode = _MODES[mode]
        self._durable = durable
        self._buffering = buffering
        self._encoding = encoding if encoding is not None or "b" in mode else "utf-8"
        self._handle: IO[Any] | None = None

    def __enter__(self) -> IO[Any]:
        self._handle = open(self.temporary, self._mode, buffering=self._buffering,
                            encoding=self._encoding)
        return self._handle

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        handle = self._handle
        assert handle is not None
        try:
            if kind is None:
                if self._durable:
                    handle.flush()
                    os.fsync(handle.fileno())
                handle.close()  # flushes: a full disk raises here, not later
                os.replace(self.temporary, self.path)
                if self._durable:
                    _sync_folder(os.path.dirname(self.path))
                return
        except BaseException:
            _discard(handle, self.temporary)
            raise
        _discard(handle, self.temporary)


def _discard(handle: IO[Any], temporary: str) -> None:
    with contextlib.suppress(OSError):
        handle.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)


def atomic_write(path: str | os.PathLike[str], data: bytes | str | _Readable | BinaryIO, *,
                 durable: bool = False) -> int:
    """Write `data` (bytes, text written as UTF-8, or a readable binary stream copied to
    its end) to `path`, whole or not at all; return the bytes written.

    Example:
        atomic_write(target, json.dumps(record).encode(), durable=True)
    """
    with atomic_open(path, "wb", durable=durable) as handle:
        if isinstance(data, str):
            data = data.encode()
        if isinstance(data, bytes | bytearray | memoryview):
            written: int = handle.write(data)
            return written
        written = 0
        while chunk := data.read(_CHUNK):
            handle.write(chunk)
            written += len(chunk)
        return written


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], *, exist_ok: bool = False,
                  create: bool = True) -> Iterator[Path]:
    """A fresh temporary folder beside `path`, renamed to `path` when the block ends
    without an error, removed when it raises. When `path` appeared meanwhile (another
    process made it first), `exist_ok=True` keeps that one and drops ours; otherwise
    FileExistsError. With `create=False` the block gets a name only, and makes the
    folder itself (a tool that wants to create it, like `conda create --prefix`).

    Example:
        with atomic_folder(cache / digest, exist_ok=True) as folder:
            build_into(folder)
    """
    target = Path(path)
    temporary = Path(temporary_beside(target))
    if create:
        temporary.mkdir()
    try:
        yield temporary
        try:
            os.rename(temporary, target)
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not target.is_dir():
                raise
            if not exist_ok:
                raise FileExistsError(errno.EEXIST, f"{target} appeared while it was being "
                                      f"written", str(target)) from e
            _remove(temporary)
    except BaseException:
        _remove(temporary)
        raise


def _remove(folder: Path) -> None:
    from runyard.artifacts._walk import remove_tree  # no recursion, links never followed

    remove_tree(folder)
