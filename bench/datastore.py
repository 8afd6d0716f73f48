"""runyard's datastore benchmark: uploading (and downloading) many small files, side by
side with `cp -r` of the same folder, as markdown table rows.

Usage: .venv/bin/python bench/datastore.py [--files 2000] [--size 4096] [--repeats 3]
                                           [--dir /dev/shm]

Each repeat copies into a fresh destination (nothing is skipped), runyard and `cp -r`
interleaved, on the same disk; the table gives the medians (see bench/README.md). Every
file lives in one temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from runyard import Workspace
from runyard.data import Datastore

FOLDERS = 20


def make_source(root: Path, files: int, size: int) -> None:
    for index in range(files):
        folder = root / f"part{index % FOLDERS:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"sample{index:05d}.bin").write_bytes(os.urandom(size))


def timed(action: Callable[[], object]) -> float:
    os.sync()  # untimed: each copy starts with no dirty pages of the one before
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def cp_r(source: Path, destination: Path) -> None:
    subprocess.run(["cp", "-r", str(source), str(destination)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", help="where to work (default: the system's temporary "
                                      "folder); /dev/shm measures without the disk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runyard-bench-datastore-",
                                     dir=args.dir) as temporary:
        root = Path(temporary)
        source = root / "source"
        make_source(source, args.files, args.size)
        workspace = Workspace.create("bench", path=root / "ws")
        store = Datastore.register(workspace, "bench", str(root / "store"))
        upload: dict[str, list[float]] = {"runyard": [], "cp": []}
        download: dict[str, list[float]] = {"runyard": [], "cp": []}
        for repeat in range(args.repeats):
            upload["runyard"].append(timed(partial(
                store.upload, source, target_path=f"copy{repeat}", show_progress=False)))
            upload["cp"].append(timed(partial(cp_r, source, root / f"cp{repeat}")))
            download["runyard"].append(timed(partial(
                store.download, root / f"down{repeat}", prefix="copy0/", show_progress=False)))
            download["cp"].append(timed(partial(cp_r, root / "store" / "copy0",
                                                root / f"cpdown{repeat}")))
        workspace.store.close()
        for name, folder in (("upload", root / "store" / "copy0"),
                             ("download", root / "down0" / "copy0")):
            copied = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
            expected = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
            assert copied == expected, f"{name} did not copy every file"
        shutil.rmtree(root / "store", ignore_errors=True)

    what = f"{args.files:,} × {args.size // 1024} KiB files in {FOLDERS} folders"
    print(f"\nDatastore transfer, {what}; median of {args.repeats}, "
          f"{os.cpu_count()} CPUs, in {args.dir or tempfile.gettempdir()}\n")
    print("| measure | runyard | anchor | ratio (runyard ÷ anchor) |")
    print("|---|---|---|---|")
    for label, times in ((f"`ds.upload` of {what} vs `cp -r`", upload),
                         (f"`ds.download` of {what} vs `cp -r`", download)):
        ours, anchor = statistics.median(times["runyard"]), statistics.median(times["cp"])
        print(f"| {label} | {ours:.3f} s | {anchor:.3f} s | {ours / anchor:.2f}× |")
    print("\nall times (s): " + "; ".join(
        f"{kind} {who}: {', '.join(f'{t:.3f}' for t in times[who])}"
        for kind, times in (("upload", upload), ("download", download)) for who in times))


if __name__ == "__main__":
    main()
