"""Uploading a run's folder (`outputs/`, `logs/`) at Finalizing, file by file.

Invariants:
- One odd file never costs the others: a file whose name cannot be kept as it is (not
  UTF-8, a backslash, longer than the run history holds) or that cannot be copied is
  left out with a warning naming it; every other file is uploaded.
- A name the run lists (`get_file_names`) is the very name that downloads it: names are
  kept only when `artifact_path` leaves them unchanged.
- Links follow `runyard.artifacts._walk`'s rule, with the run's working directory as
  the boundary for `outputs/`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from runyard._validation import RUN_FILE_NAME_LIMIT, file_name_problem
from runyard.artifacts._walk import shown, walk

if TYPE_CHECKING:
    from runyard.artifacts.base import ArtifactStore
    from runyard.store.base import AbstractStore

BATCH = 500  # files recorded in the run history at a time, so a long upload shows progress
SHOWN_WARNINGS = 50  # on the run; the supervisor's log has them all


@dataclass
class Uploaded:
    files: list[tuple[str, int]] = field(default_factory=list)  # (run file name, size)
    warnings: list[str] = field(default_factory=list)


def upload_run_folder(artifacts: ArtifactStore, run_id: str, folder: str | os.PathLike[str],
                      base: str, *, inside: str | os.PathLike[str],
                      skip: Collection[str] = (),
                      on_batch: Callable[[list[tuple[str, int]]], None] | None = None,
                      ) -> Uploaded:
    """Upload every file below `folder` as the run file `<base>/<relative path>`, except
    names in `skip`; `on_batch` gets each BATCH of uploaded files, and the rest at the end."""
    result = Uploaded()
    if not Path(folder).is_dir():
        return result
    found = walk(folder, inside=inside, label=base)
    result.warnings += found.warnings
    pending: list[tuple[str, int]] = []
    for file in found.files:
        name = f"{base}/{file.name}"
        problem = file_name_problem(name, limit=RUN_FILE_NAME_LIMIT)
        if problem is not None:
            result.warnings.append(f"{shown(name)} is not kept: its name {problem}; rename "
                                   f"it in the script")
            continue
        if name in skip:
            result.warnings.append(f"{shown(name)} is not kept: a file of that name was uploaded "
                                   f"already (by an earlier node)")
            continue
        try:
            size = artifacts.put_file(file.path, f"runs/{run_id}/{name}")
        except (OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            result.warnings.append(f"{shown(name)} is not kept: it could not be copied "
                                   f"({reason})")
            continue
        pending.append((name, size))
        result.files.append((name, size))
        if on_batch is not None and len(pending) >= BATCH:
            on_batch(pending)
            pending = []
    if on_batch is not None and pending:
        on_batch(pending)
    return result


def record_warnings(store: AbstractStore, run_id: str, base: str,
                    warnings: list[str]) -> None:
    """Keep `warnings` about the run's `base` folder as warnings on the run, which
    `run.get_details()["warnings"]` shows (source `runyard.<base>`); past SHOWN_WARNINGS
    one more says how many the supervisor's log has besides. An upload repeated (a run
    stopped while it finalized) adds none twice."""
    if not warnings:
        return
    source = f"runyard.{base}"
    kept = warnings[:SHOWN_WARNINGS]
    if len(warnings) > SHOWN_WARNINGS:
        kept.append(f"{base}/: {len(warnings) - SHOWN_WARNINGS} more warnings; "
                    f"logs/supervisor.txt lists them all")
    there = {w["message"] for w in store.get_warnings(run_id) if w["source"] == source}
    for message in kept:
        if message not in there:
            store.add_warning(run_id, message, source=source)
