"""Counting this machine's GPUs, for every compute that needs it (the local compute's
use_gpu check at submit, an owned Ray cluster's nodes): NVIDIA's, as `nvidia-smi -L`
lists them; 0 where there is no nvidia-smi."""

from __future__ import annotations

import shutil
import subprocess


def gpu_count() -> int:
    """The NVIDIA GPUs of this machine (`nvidia-smi -L`), 0 without nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return 0
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))
