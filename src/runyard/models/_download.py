"""Reading a model version back: verified downloads and the per-machine model cache.

Invariants:
- Every downloaded file is hashed as it is written and compared with the sha256 recorded
  at registration; a mismatch raises ChecksumMismatchError and leaves nothing under the
  target name.
- A download is assembled in a temporary folder beside its target (named as
  `runyard._atomic` names temporaries) and renamed into place, so the target is the whole
  model or is not there (with `exist_ok`, files of an existing target are replaced one by
  one, each by a rename).
- The cache (`RUNYARD_MODEL_CACHE`, default `~/.cache/runyard/models`) holds
  `<name>/<version>/<registration id>/<root>`: the registration id (the uuid of the
  version's artifact prefix) keeps apart two workspaces that both have a "mnist" version 1.
  A folder there is complete: it is renamed into place after a verified download
  (`runyard._atomic.atomic_folder`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._atomic import atomic_folder, temporary_beside
from runyard._local import cache_dir
from runyard._validation import artifact_path
from runyard.artifacts._walk import remove_tree
from runyard.artifacts.base import CHUNK
from runyard.errors import ChecksumMismatchError, FileExistsNoOverwriteError, ValidationError

if TYPE_CHECKING:
    from runyard.artifacts import ArtifactStore


def _fetch_verified(artifacts: ArtifactStore, key: str, destination: Path,
                    expected: Mapping[str, Any], label: str) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with artifacts.open(key) as source, open(destination, "wb") as target:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            size += len(chunk)
    actual = digest.hexdigest()
    if actual != expected["sha256"] or size != expected["size"]:
        raise ChecksumMismatchError(
            f"{label}: file {expected['path']!r} does not match what was registered "
            f"(sha256 {actual[:12]}…, {size} bytes; registered {expected['sha256'][:12]}…, "
            f"{expected['size']} bytes); the stored copy {key!r} was damaged or changed",
            key=key, path=expected["path"], expected=expected["sha256"], actual=actual)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _merge(source: Path, target: Path) -> None:
    """Move the downloaded `source` onto an existing `target`, file by file."""
    if source.is_file():
        if target.is_dir():
            raise FileExistsNoOverwriteError(f"{target} is a folder; the model is a file",
                                             path=str(target))
        os.replace(source, target)
        return
    if not target.is_dir():
        raise FileExistsNoOverwriteError(f"{target} is a file; the model is a folder",
                                         path=str(target))
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        destination = target / file.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, destination)


def download(artifacts: ArtifactStore, files: Mapping[str, Any], target_dir: Path,
             exist_ok: bool, label: str) -> Path:
    """Download a version's files into `target_dir`; return `target_dir/<root>`."""
    root = artifact_path(files["root"], what="model root")
    if "/" in root:
        raise ValidationError(f"{label}: stored root {root!r} is not a single name")
    target = target_dir / root
    if _exists(target) and not exist_ok:
        raise FileExistsNoOverwriteError(
            f"{target} already exists; pass exist_ok=True to replace its files, or choose "
            f"another target_dir", path=str(target))
    target_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(temporary_beside(target))
    staging.mkdir()
    try:
        for entry in files["files"]:
            relative = artifact_path(entry["path"], what="model file path")
            _fetch_verified(artifacts, f"{files['prefix']}/{relative}", staging / relative,
                            entry, label)
        downloaded = staging / root
        if not _exists(target):
            try:
                os.rename(downloaded, target)
                return target
            except OSError:  # another process put it there meanwhile
                if not exist_ok:
                    raise FileExistsNoOverwriteError(
                        f"{target} appeared while downloading; pass exist_ok=True to "
                        f"replace its files", path=str(target)) from None
        _merge(downloaded, target)
        return target
    finally:
        remove_tree(staging)


def cache_root() -> Path:
    return cache_dir("models", "RUNYARD_MODEL_CACHE")


def cached(artifacts: ArtifactStore, name: str, version: int, files: Mapping[str, Any],
           label: str) -> Path:
    """The model's path in this machine's cache, downloading it the first time."""
    registration = artifact_path(files["prefix"]).rsplit("/", 1)[-1]
    folder = cache_root() / name / str(version) / registration
    root = artifact_path(files["root"], what="model root")
    if folder.is_dir():
        return folder / root
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_folder(folder, exist_ok=True) as staging:  # or another process cached it
        download(artifacts, files, staging, exist_ok=False, label=label)
    return folder / root
