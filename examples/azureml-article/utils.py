"""MNIST in its original IDX files (gzip-compressed), read the way the v1 article's
`utils.py` reads them: `load_data(path, label)` gives uint8 arrays, images as (n, 784) and
labels as (n, 1); the training scripts scale and reshape them."""

import gzip
import struct

import numpy as np


def load_data(filename, label=False):
    with gzip.open(filename, "rb") as handle:
        _magic, count = struct.unpack(">II", handle.read(8))
        if label:
            return np.frombuffer(handle.read(count), dtype=np.uint8).reshape(count, 1)
        rows, columns = struct.unpack(">II", handle.read(8))
        pixels = np.frombuffer(handle.read(count * rows * columns), dtype=np.uint8)
        return pixels.reshape(count, rows * columns)
