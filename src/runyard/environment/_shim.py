"""The runtime on a built environment's path, without installing anything into it.

A copy of the `runyard` package (source only) under the cache root, keyed by the hash of
its files, goes first on PYTHONPATH of a run in a built environment. There,
`from runyard import Run; Run.get_context()` needs only the standard library; runyard's
heavy dependencies are not installed and are never imported by the runtime.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import runyard
from runyard._atomic import atomic_folder


def copy_of_package(source: Path, package: str, folder: Path) -> Path:
    """A folder under `folder`, named by the hash of the `.py` files under `source`, whose
    `<package>/` holds a copy of them; made whole (written under a temporary name, then
    renamed) or found; return it."""
    files = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    key = digest.hexdigest()[:16]
    target = folder / key
    if (target / package / "__init__.py").is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_folder(target, exist_ok=True) as temporary:  # or another run made it first
        for path in files:
            destination = temporary / package / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    return target


def ensure_runtime_shim(cache_root: Path) -> Path:
    """A folder whose `runyard/` is this runyard's source; return the folder."""
    return copy_of_package(Path(runyard.__file__).parent, "runyard", cache_root / ".runtime")
