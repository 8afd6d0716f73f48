"""Content-addressed snapshots of a source directory.

A snapshot is a manifest (JSON: path → sha256, size, executable bit) stored as a blob;
each file's bytes are a blob under its sha256. Its id is the manifest's sha256, so an
unchanged folder resubmitted stores no new bytes and gets the same id.

Ignored: what `.runyardignore` says, else what `.gitignore` says (gitignore syntax), and
always `.git/` and `.runyard/`. There is no size limit; above `LARGE_SNAPSHOT_BYTES` a
warning names the size and the file count.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from runyard._validation import artifact_path
from runyard.artifacts.base import CHUNK, ArtifactStore
from runyard.artifacts.local import LocalArtifactStore

LARGE_SNAPSHOT_BYTES = 300 * 1024 * 1024
ALWAYS_IGNORED = (".git/", ".runyard/")


@dataclass(frozen=True)
class Snapshot:
    id: str
    files: int
    bytes: int
    new_bytes: int


def _ignore_spec(source: Path):  # type: ignore[no-untyped-def]
    import pathspec

    lines = list(ALWAYS_IGNORED)
    for name in (".runyardignore", ".gitignore"):
        rules = source / name
        if rules.is_file():
            lines += rules.read_text().splitlines()
            break
    return pathspec.GitIgnoreSpec.from_lines(lines)


def source_files(source: Path) -> list[str]:
    """Relative POSIX paths of the files a snapshot of `source` holds, sorted."""
    spec = _ignore_spec(source)
    kept: list[str] = []
    for folder, dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source).as_posix()
        prefix = "" if relative == "." else relative + "/"
        dirs[:] = sorted(d for d in dirs if not spec.match_file(prefix + d + "/"))
        for name in sorted(files):
            path = prefix + name
            full = Path(folder, name)
            if full.is_file() and not spec.match_file(path):
                kept.append(path)
    return sorted(kept)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def take(source: str | os.PathLike[str], store: ArtifactStore) -> Snapshot:
    """Snapshot `source` into `store`; only blobs not stored yet are written."""
    root = Path(source)
    entries = []
    total = new = 0
    for path in source_files(root):
        full = root / path
        size = full.stat().st_size
        digest = _sha256(full)
        executable = bool(full.stat().st_mode & stat.S_IXUSR)
        if store.put_blob(full, digest):
            new += size
        total += size
        entries.append({"path": path, "sha256": digest, "size": size, "x": executable})
    if total > LARGE_SNAPSHOT_BYTES:
        warnings.warn(
            f"snapshot of {root} is {total / 2**20:.0f} MiB in {len(entries)} files; every "
            f"submit hashes it all. List data and outputs in .runyardignore and read data "
            f"from a datastore instead", stacklevel=3,
        )
    manifest = json.dumps({"files": entries}, sort_keys=True).encode()
    snapshot_id = store.put_blob_bytes(manifest)
    return Snapshot(snapshot_id, len(entries), total, new)


def materialize(snapshot_id: str, store: ArtifactStore, destination: Path) -> int:
    """Write the snapshot's files under `destination` (a copy: the run may edit them)."""
    manifest = json.loads(store.read_blob(snapshot_id))
    destination.mkdir(parents=True, exist_ok=True)
    for entry in manifest["files"]:
        target = destination / artifact_path(entry["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        key = store.blob_key(entry["sha256"])
        if isinstance(store, LocalArtifactStore):
            shutil.copyfile(store.path_of(key), target)
        else:
            store.get_file(key, target)
        if entry["x"]:
            target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return len(manifest["files"])
