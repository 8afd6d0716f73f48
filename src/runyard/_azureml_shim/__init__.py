"""`from azureml.core import Run` inside a run, for v1 training scripts left unchanged.

`ensure_azureml_shim(cache_root)` makes a folder holding a small `azureml` package (the
files of `azureml/` beside this module) under `<cache_root>/.azureml/<hash of its files>/`;
the supervisor puts that folder last on PYTHONPATH of every process of every run. It is
never installed into an interpreter. It belongs to the core (the run driver imports it),
not to the v1 mirror `runyard.azureml`, which the core never imports.

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

from pathlib import Path

SOURCE = Path(__file__).parent / "azureml"


def ensure_azureml_shim(cache_root: Path) -> Path:
    """The folder to put on PYTHONPATH (it holds `azureml/`); made on first use."""
    from runyard.environment._shim import copy_of_package

    return copy_of_package(SOURCE, "azureml", cache_root / ".azureml")
