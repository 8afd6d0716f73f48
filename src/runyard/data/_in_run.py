"""DataReferences inside a run: the supervisor turns each into a local path.

Invariants:
- mode "mount" on a file:// datastore is the datastore's folder itself (no copy); mode
  "download", or any store that is not on this machine, is a copy made under the run's
  working directory before the script starts.
- Every `$RUNYARD_DATAREFERENCE_<name>` (or `$AZUREML_DATAREFERENCE_<name>`) in an
  argument becomes the path, whole names only (`..._ds` never matches inside
  `..._ds2`); the environment variables of both spellings hold it too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.data import _transfer
from runyard.data._filesystems import open_backend
from runyard.data.datastore import Datastore, datastore_name, datastore_path

if TYPE_CHECKING:
    from runyard.workspace import Workspace

_TOKEN = re.compile(r"\$(?:RUNYARD|AZUREML)_DATAREFERENCE_([A-Za-z0-9_]+)")


def resolve_data_reference(workspace: Workspace, config: Mapping[str, Any], workdir: Path,
                           log: Callable[[str], None]) -> str:
    """The local path a run reads for one DataReference (`DataReference.to_config()`)."""
    name = datastore_name(config["name"], what="data_reference_name")
    url = config.get("url") or Datastore(workspace, config["datastore"]).url
    backend = open_backend(url)
    path = datastore_path(config.get("path_on_datastore"), what="path_on_datastore")
    where = f"{config['datastore']}:{path or '/'}"
    mode = config.get("mode", "mount")
    if mode == "mount" and backend.local_root is not None:
        local = backend.local_root / path if path else backend.local_root
        note = "" if local.exists() else " (not there yet)"
        log(f"data reference {name}: {where} mounted in place at {local}{note}")
        return str(local)
    if mode == "mount":
        log(f"data reference {name}: {url} is not on this machine, so it is copied "
            f"rather than mounted")
    destination = workdir / datastore_path(config.get("path_on_compute") or name,
                                           what="path_on_compute")
    if path and backend.is_file(path):
        size = backend.sizes([path]).get(path, 0)
        local = destination / path.rsplit("/", 1)[-1]
        files = [(path, size, str(local))]
    else:
        local = destination
        files = [(key, size, os.path.join(destination, key[len(path) + 1:] if path else key))
                 for key, size in backend.list_files(path)]
    destination.mkdir(parents=True, exist_ok=True)
    report = _transfer.download(backend, files, overwrite=True, show_progress=False,
                                description="")
    note = "" if files else " (nothing there)"
    log(f"data reference {name}: {report.summary('downloaded', f'from {where}')} to "
        f"{local}{note}")
    return str(local)


def apply_data_references(workspace: Workspace, references: Mapping[str, Mapping[str, Any]],
                          arguments: list[str], workdir: Path,
                          log: Callable[[str], None]) -> tuple[list[str], dict[str, str]]:
    """Resolve every reference; return the arguments with their tokens replaced, and the
    environment variables to set."""
    paths = {name: resolve_data_reference(workspace, config, workdir, log)
             for name, config in references.items()}
    environment = {}
    for name, path in paths.items():
        environment[f"RUNYARD_DATAREFERENCE_{name}"] = path
        environment[f"AZUREML_DATAREFERENCE_{name}"] = path
    replaced = [_TOKEN.sub(lambda m: paths.get(m.group(1), m.group(0)), argument)
                for argument in arguments]
    return replaced, environment
