"""The channel between a training process and its supervisor (standard library only).

A process appends frames to its own channel file: the 4 bytes `MAGIC`, a 4-byte
little-endian length, then a pickle (protocol 4) of `(run_id, records)`. The magic lets a
reader find the next frame after bytes that are not one (a script that wrote into the
channel file by accident), and a length above `MAX_FRAME` is never waited for. Only
plain data crosses (tuples, lists, str, int, float, bool, None); the supervisor reads
with an unpickler that refuses every global, so a frame can never name code. A frame is
written with `os.write` on an O_APPEND file: a reader sees whole frames, and a process
killed between flushes loses only what it had not flushed yet.

Records:
- `(name, value, step, time)`                  a scalar metric (the fast path of `log`)
- `(METRIC, kind, name, json_text, step, time)` list / row / table / image metrics
- `(TAGS, {key: value})`, `(PROPERTIES, {key: value})`
- `(FILE, name, staged_path)`                   a file the script uploaded
- `(CHILD, child_run_id, name)`                 a child run was started
- `(CHILD_END, child_run_id, status, error)`    a child run ended
"""

from __future__ import annotations

import io
import pickle
import struct
from typing import Any

METRIC, TAGS, PROPERTIES, FILE, CHILD, CHILD_END = range(6)
MAGIC = b"RYF\x01"
HEADER = struct.Struct("<4sI")
MAX_FRAME = 1 << 30
PROTOCOL = 4


def encode(run_id: str, records: list[Any]) -> list[bytes]:
    """Frames carrying `records`, each below MAX_FRAME (split where one would not be)."""
    body = pickle.dumps((run_id, records), protocol=PROTOCOL)
    if len(body) > MAX_FRAME and len(records) > 1:
        half = len(records) // 2
        return encode(run_id, records[:half]) + encode(run_id, records[half:])
    return [HEADER.pack(MAGIC, len(body)) + body]


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"channel frames carry plain data only, not {module}.{name}")


def decode(body: bytes) -> tuple[str, list[Any]]:
    run_id, records = _PlainUnpickler(io.BytesIO(body)).load()
    return run_id, records


class Reader:
    """Whole frames out of a growing channel file, fed in pieces; bytes that are not a
    frame are skipped up to the next magic and reported through `skipped`."""

    def __init__(self) -> None:
        self.pending = b""
        self.offset = 0  # of `pending` in the file
        self.skipped: list[tuple[int, int, str]] = []  # (offset, bytes, why)

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self.pending + data
        frames = []
        position = 0
        size = len(buffer)
        while position + HEADER.size <= size:
            magic, length = HEADER.unpack_from(buffer, position)
            if magic != MAGIC or length > MAX_FRAME:
                why = "not a frame" if magic != MAGIC else f"a frame length of {length} bytes"
                found = buffer.find(MAGIC, position + 1)
                end = found if found >= 0 else max(position + 1, size - len(MAGIC) + 1)
                self.skipped.append((self.offset + position, end - position, why))
                position = end
                continue
            end = position + HEADER.size + length
            if end > size:
                break
            frames.append(buffer[position + HEADER.size:end])
            position = end
        self.pending = buffer[position:]
        self.offset += position
        return frames
