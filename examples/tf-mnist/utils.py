"""Reading MNIST in its original IDX format (gzip-compressed), as the seed's sample did."""

import gzip
import hashlib
import struct
import urllib.request
from pathlib import Path

FILES = {
    "train-images-idx3-ubyte.gz":
        "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz":
        "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz":
        "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz":
        "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}
# where the seed's notebook downloaded them from (Azure's open datasets)
DEFAULT_URL = "https://azureopendatastorage.blob.core.windows.net/mnist/"


def load_data(path, label=False):
    """An IDX file as a numpy array: images as (n, 784) floats in [0, 1], labels as ints."""
    import numpy as np

    with gzip.open(path, "rb") as handle:
        magic = struct.unpack(">I", handle.read(4))[0]
        dimensions = magic & 0xFF
        shape = struct.unpack(">" + "I" * dimensions, handle.read(4 * dimensions))
        data = np.frombuffer(handle.read(), dtype=np.uint8)
    if label:
        return data.reshape(shape[0]).astype(np.int64)
    return data.reshape(shape[0], -1).astype(np.float32) / 255.0


def check_folder(folder):
    """Raise a clear error unless the four MNIST files are in `folder`."""
    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise SystemExit(
            f"--data-folder {folder}: missing {', '.join(missing)}; expected the four MNIST "
            f"files {', '.join(FILES)} (python run_mnist.py --download fetches them)")
    return folder


def download(folder, base_url=DEFAULT_URL):
    """Download the four files (original names) and verify their sha256."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, expected in FILES.items():
        target = folder / name
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == expected:
            continue
        partial = target.with_suffix(".part")
        urllib.request.urlretrieve(base_url + name, partial)
        digest = hashlib.sha256(partial.read_bytes()).hexdigest()
        if digest != expected:
            partial.unlink()
            raise SystemExit(f"{name}: sha256 {digest} is not the expected {expected}")
        partial.rename(target)
    return folder
