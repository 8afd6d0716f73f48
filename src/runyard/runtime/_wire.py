"""The channel between a training process and its supervisor (standard library only).

A process appends frames to its own channel file: a 4-byte little-endian length, then a
pickle (protocol 4) of `(run_id, records)`. Only plain data crosses (tuples, lists, str,
int, float, bool, None); the supervisor reads with an unpickler that refuses every global,
so a frame can never name code. A frame is written with one `os.write` on an O_APPEND
file: a reader sees whole frames, and a process killed between flushes loses only what it
had not flushed yet.

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
HEADER = struct.Struct("<I")
PROTOCOL = 4


def encode(run_id: str, records: list[Any]) -> bytes:
    body = pickle.dumps((run_id, records), protocol=PROTOCOL)
    return HEADER.pack(len(body)) + body


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"channel frames carry plain data only, not {module}.{name}")


def decode(body: bytes) -> tuple[str, list[Any]]:
    run_id, records = _PlainUnpickler(io.BytesIO(body)).load()
    return run_id, records


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete frame bodies in `buffer`, and the incomplete tail."""
    frames = []
    offset = 0
    size = len(buffer)
    while offset + 4 <= size:
        (length,) = HEADER.unpack_from(buffer, offset)
        end = offset + 4 + length
        if end > size:
            break
        frames.append(buffer[offset + 4:end])
        offset = end
    return frames, buffer[offset:]
