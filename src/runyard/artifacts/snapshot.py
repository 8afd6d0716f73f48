"""Content-addressed snapshots of a source directory.

A snapshot is a manifest (JSON: path → sha256, size, executable bit) stored as a blob;
each file's bytes are a blob under its sha256. Its id is the manifest's sha256, so an
unchanged folder resubmitted stores no new bytes and gets the same id.

Ignored: what `.runyardignore` says, else what `.gitignore` says (gitignore syntax), and
always `.git/` and `.runyard/`. There is no size limit; above `LARGE_SNAPSHOT_BYTES` a
warning names the size and the file count.

Links follow `runyard.artifacts._walk`'s rule with the source directory as the boundary:
a link to a file or folder inside it is stored as what it points to; any other link is
left out with a warning naming it. A file whose name cannot be materialized as it is
(a backslash, which runyard reads as a folder separator: `a\\..\\..\\x`) is refused
before any byte is stored, so a submit that fails leaves neither a run nor blobs.
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

from runyard._validation import artifact_path, file_name_problem
from runyard.artifacts._walk import WalkedFile, make_folders, shown, walk
from runyard.artifacts.base import CHUNK, ArtifactStore
from runyard.errors import InvalidArtifactPathError

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


def _files(source: Path) -> list[WalkedFile]:
    """The files a snapshot of `source` holds, sorted; warns for each link not followed,
    raises InvalidArtifactPathError for names that cannot be materialized."""
    spec = _ignore_spec(source)
    found = walk(source, ignore=lambda name, folder: bool(
        spec.match_file(name + "/" if folder else name)))
    for warning in found.warnings:
        warnings.warn(f"snapshot of {source}: {warning}", stacklevel=4)
    refused = [(file.name, problem) for file in found.files
               if (problem := file_name_problem(file.name, text_only=False)) is not None]
    if refused:
        name, problem = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise InvalidArtifactPathError(
            f"source_directory {str(source)!r} has a file {shown(name)!r}{more} that a run "
            f"cannot get under its name: it {problem}; rename it, or list it in "
            f".runyardignore", path=name, paths=[n for n, _ in refused])
    return found.files


def source_files(source: Path) -> list[str]:
    """Relative POSIX paths of the files a snapshot of `source` holds, sorted."""
    return [file.name for file in _files(source)]


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
    for file in _files(root):
        full = Path(file.path)
        status = full.stat()
        digest = _sha256(full)
        executable = bool(status.st_mode & stat.S_IXUSR)
        if store.put_blob(full, digest):
            new += status.st_size
        total += status.st_size
        entries.append({"path": file.name, "sha256": digest, "size": status.st_size,
                        "x": executable})
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
        make_folders(target.parent)
        key = store.blob_key(entry["sha256"])
        stored = store.local_path(key)
        if stored is not None:  # a folder here: a plain copy, no temporary needed
            shutil.copyfile(stored, target)
        else:
            store.get_file(key, target)
        if entry["x"]:
            target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return len(manifest["files"])
