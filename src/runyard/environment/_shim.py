"""The runtime on a built environment's path, without installing anything into it.

A copy of the `runyard` package (source only) under the cache root, keyed by the hash of
its files, goes first on PYTHONPATH of a run in a built environment. There,
`from runyard import Run; Run.get_context()` needs only the standard library; runyard's
heavy dependencies are not installed and are never imported by the runtime.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import runyard


def _package_files() -> list[Path]:
    root = Path(runyard.__file__).parent
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def ensure_runtime_shim(cache_root: Path) -> Path:
    """A folder whose `runyard/` is this runyard's source; return the folder."""
    root = Path(runyard.__file__).parent
    digest = hashlib.sha256()
    files = _package_files()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    target = cache_root / ".runtime" / digest.hexdigest()[:16]
    if (target / "runyard" / "__init__.py").is_file():
        return target
    temporary = cache_root / ".runtime" / f".tmp-{digest.hexdigest()[:16]}-{os.getpid()}"
    for path in files:
        destination = temporary / "runyard" / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    try:
        os.rename(temporary, target)
    except OSError:  # another run made it first
        shutil.rmtree(temporary, ignore_errors=True)
    return target
