"""Walking a folder to copy it: one rule for symbolic links, and no recursion.

Every folder runyard copies is walked here: a run's `outputs/` and `logs/` at Finalizing
(on this machine and on each Ray node), the snapshot of a source directory, a datastore
upload and a model registered from a local folder. The rule (docs/files.md):

- A link is followed when its target, fully resolved, is inside `inside`: the run's
  working directory, the source directory, the folder being uploaded. What it points to
  is copied under the link's own name, as `cp -rL` would.
- A folder link to a folder the walk is already inside (an ancestor) is a cycle and is
  not followed. So a walk ends, and never climbs out into `/`.
- A link that is not followed (target outside, target missing, cycle) gets one warning
  that names it and says where it points. So does anything that is neither a regular
  file nor a folder (a FIFO would block a reader; a socket or device has no bytes to
  copy), and a folder that cannot be read.

Invariants:
- No recursion anywhere: folders are walked with an explicit stack, created with
  `make_folders` and removed with `remove_tree`, so a tree 5000 folders deep is walked
  like a flat one (`os.walk`, `Path.rglob`, `os.makedirs` and `shutil.rmtree` recurse in
  Python 3.11 and raise RecursionError near 1000 levels).
- Names are relative POSIX paths below the walked folder, as `str`: bytes that are not
  UTF-8 arrive as surrogates (`os.fsdecode`), and `shown` prints them as `\\xff`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WalkedFile:
    path: str  # where to read it (through the links that were followed)
    name: str  # relative POSIX path below the walked folder
    size: int


@dataclass
class Walk:
    """The files of a walk, sorted by name, and a warning for each thing left out."""

    files: list[WalkedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def shown(name: str, limit: int = 300) -> str:
    """A name as a warning prints it: bytes that are not UTF-8 as `\\xff`, and the middle
    of a name longer than `limit` characters left out."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    if len(text) > limit:
        text = f"{text[:limit - 100]}...({len(text) - limit} characters)...{text[-100:]}"
    return text


def _within(real: str, boundary: str) -> bool:
    return real == boundary or real.startswith(boundary.rstrip("/") + "/")


def walk(folder: str | os.PathLike[str], *, inside: str | os.PathLike[str] | None = None,
         ignore: Callable[[str, bool], bool] | None = None, label: str | None = None) -> Walk:
    """The regular files below `folder`, following the links that stay inside `inside`
    (default: `folder` itself). `ignore(name, is_folder)` leaves an entry out silently.
    Warnings name entries relative to `folder`, after `label/` when it is given."""
    top = os.fspath(folder)
    boundary = os.path.realpath(os.fspath(inside) if inside is not None else top)
    result = Walk()
    real_top = os.path.realpath(top)
    if not _within(real_top, boundary):
        result.warnings.append(f"{shown(label or top)} is a link to {shown(real_top)}, "
                               f"outside {shown(boundary)}; not followed, nothing below it "
                               f"is copied")
        return result
    try:
        status = os.stat(top)
    except OSError:
        return result  # nothing there: nothing to copy
    lead = f"{label}/" if label else ""
    stack = [(top, "", frozenset({(status.st_dev, status.st_ino)}))]
    while stack:
        path, prefix, ancestors = stack.pop()
        try:
            with os.scandir(path) as scan:
                entries = list(scan)
        except OSError as e:
            where = (lead + prefix).rstrip("/") or top
            result.warnings.append(f"{shown(where)}: this folder could not be read "
                                   f"({e.strerror}); its files are not copied")
            continue
        for entry in entries:
            name = prefix + entry.name
            found = _entry(entry, name, lead, boundary, ancestors, ignore, result)
            if found is not None:
                stack.append((entry.path, name + "/", ancestors | {found}))
    result.files.sort(key=lambda file: file.name)
    return result


def _entry(entry: os.DirEntry[str], name: str, lead: str, boundary: str,
           ancestors: frozenset[tuple[int, int]], ignore: Callable[[str, bool], bool] | None,
           result: Walk) -> tuple[int, int] | None:
    """Take one entry: a file goes into `result`; a folder to walk returns its identity."""
    try:
        link = entry.is_symlink()
    except OSError:
        return None  # removed while we looked
    try:
        target = os.stat(entry.path)  # through a link
    except FileNotFoundError:
        if not link:
            return None  # removed while we looked
        target = None
    except OSError as e:
        result.warnings.append(f"{shown(lead + name)}: could not be read ({e.strerror}); "
                               f"not copied")
        return None
    is_folder = target is not None and stat.S_ISDIR(target.st_mode)
    if ignore is not None and ignore(name, is_folder):
        return None
    what = f"{shown(lead + name)} is a folder"
    if link:
        with contextlib.suppress(OSError):
            what = f"{shown(lead + name)} is a link to {shown(os.readlink(entry.path))}"
        if target is None:
            result.warnings.append(f"{what}, which does not exist; not followed")
            return None
        real = os.path.realpath(entry.path)
        if not _within(real, boundary):
            result.warnings.append(f"{what}, outside {shown(boundary)}; not followed "
                                   f"(links are followed only inside it)")
            return None
    assert target is not None
    if is_folder:
        identity = (target.st_dev, target.st_ino)
        if identity in ancestors:  # through a link, or inside a folder reached by one
            result.warnings.append(f"{what} that contains it (a link cycle); not "
                                   f"followed")
            return None
        return identity
    if stat.S_ISREG(target.st_mode):
        result.files.append(WalkedFile(entry.path, name, target.st_size))
    else:
        result.warnings.append(f"{shown(lead + name)} is not a regular file or folder (a FIFO, "
                               f"socket or device); not copied")
    return None


def make_folders(path: str | os.PathLike[str]) -> None:
    """`os.makedirs(path, exist_ok=True)`, without recursion."""
    current = os.path.abspath(os.fspath(path))
    missing = []
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise


def remove_tree(path: str | os.PathLike[str]) -> None:
    """`shutil.rmtree(path, ignore_errors=True)`, without recursion; links are removed,
    never followed."""
    top = os.fspath(path)
    if os.path.islink(top) or os.path.isfile(top):
        with contextlib.suppress(OSError):
            os.unlink(top)
        return
    folders = []
    stack = [top]
    while stack:
        folder = stack.pop()
        folders.append(folder)
        try:
            with os.scandir(folder) as scan:
                for entry in scan:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
        except OSError:
            continue
    for folder in reversed(folders):  # children before their parents
        with contextlib.suppress(OSError):
            os.rmdir(folder)
