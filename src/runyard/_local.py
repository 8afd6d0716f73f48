"""Small facts about this machine shared by several parts: cache folders, sizes for people."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str, variable: str) -> Path:
    """`$variable` if set, else `$XDG_CACHE_HOME/runyard/<kind>` (default `~/.cache/...`)."""
    configured = os.environ.get(variable)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "runyard" / kind


def read_tail(path: Path, limit: int) -> str:
    """The last `limit` bytes of a text file, decoded leniently; '' if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def human_size(size: int | None) -> str:
    """`1536` → `1.5 KiB`."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def free_ports(count: int) -> list[int]:
    """Ports free on this machine now (bound to port 0, then released)."""
    import socket

    handles = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for handle in handles:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in handles]
    finally:
        for handle in handles:
            handle.close()
