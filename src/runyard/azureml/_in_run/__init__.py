"""`from azureml.core import Run` inside a run, for v1 training scripts left unchanged.

`ensure_azureml_shim(cache_root)` makes a folder holding a small `azureml` package (the
files of `azureml/` beside this module) under `<cache_root>/.azureml/<hash of its files>/`;
the supervisor puts that folder last on PYTHONPATH of every process of every run. It is
never installed into an interpreter.

Invariants:
- The shim loads only the standard library and `runyard.runtime`: in a built environment,
  where runyard's dependencies are not installed, the runtime shim provides `runyard`.
- It never shadows a real azureml-core: its `azureml/__init__.py` adds every other
  `azureml` folder on sys.path to the package's path, ahead of its own, so the real
  `azureml.core` is the one imported wherever azureml-core is installed.
- The folder appears whole or not at all: it is written under a temporary name and
  renamed; a second supervisor racing to make it keeps the first one's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

SOURCE = Path(__file__).parent / "azureml"


def _files() -> list[Path]:
    return sorted(p for p in SOURCE.rglob("*.py") if "__pycache__" not in p.parts)


def ensure_azureml_shim(cache_root: Path) -> Path:
    """The folder to put on PYTHONPATH (it holds `azureml/`); made on first use."""
    files = _files()
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(SOURCE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    key = digest.hexdigest()[:16]
    target = cache_root / ".azureml" / key
    if (target / "azureml" / "__init__.py").is_file():
        return target
    temporary = cache_root / ".azureml" / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    for path in files:
        destination = temporary / "azureml" / path.relative_to(SOURCE)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    try:
        os.rename(temporary, target)
    except OSError:  # another supervisor made it first
        shutil.rmtree(temporary, ignore_errors=True)
    return target
