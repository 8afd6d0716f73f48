"""The `local` compute: runs as processes on this machine, each owned by a detached
supervisor, at most `max_concurrent_runs` running at once (the rest wait Queued).

Slots are files locked with flock(2): a supervisor that dies frees its slot with it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from runyard.compute.base import Capability, ComputeTarget
from runyard.errors import ValidationError
from runyard.supervisor._start import start_supervisor


class LocalCompute(ComputeTarget):
    """This machine. Always there, named "local"."""

    type = "local"
    executor = "runyard.compute.local_executor:LocalExecutor"
    # one node: a run on several is refused at submit (no Capability.MULTI_NODE)
    capabilities = frozenset({Capability.MPI, Capability.PARAMETER_SERVER, Capability.GPU})

    @staticmethod
    def default_config() -> dict[str, Any]:
        return {"max_concurrent_runs": max(2, os.cpu_count() or 1)}

    @property
    def max_concurrent_runs(self) -> int:
        return int(self.config.get("max_concurrent_runs", 1))

    def update(self, max_concurrent_runs: int | None = None) -> None:
        """Change the settings; runs already waiting see them on their next look."""
        if max_concurrent_runs is not None:
            if not isinstance(max_concurrent_runs, int) or max_concurrent_runs < 1:
                raise ValidationError(
                    f"max_concurrent_runs must be a positive integer, got "
                    f"{max_concurrent_runs!r}", value=max_concurrent_runs)
            self.config["max_concurrent_runs"] = max_concurrent_runs
        self.workspace.store.put_compute_target(self.name, self.type, self.config)

    def describe(self) -> dict[str, Any]:
        shown = super().describe()
        nodes = shown.pop("nodes")
        shown.update(max_concurrent_runs=self.max_concurrent_runs, nodes=nodes)
        return shown

    def check_submission(self, config: dict[str, Any]) -> None:
        if (config.get("estimator") or {}).get("use_gpu"):
            from runyard.compute._gpus import gpu_count

            if gpu_count() == 0:
                raise ValidationError("use_gpu=True, but this machine has no NVIDIA GPU "
                                      "(nvidia-smi not found or lists none)")
        distributed = config.get("distributed") or {}
        if distributed.get("framework") == "mpi":
            from runyard.compute._process_group import mpirun_available

            if not mpirun_available():
                raise ValidationError(
                    "this run asks for MPI and there is no mpirun on this machine; install "
                    "OpenMPI (Debian/Ubuntu: apt-get install openmpi-bin)")

    def _launch(self, run_id: str) -> None:
        run_dir = self.workspace.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["RUNYARD_STORE_URL"] = self.workspace.store_url
        env["RUNYARD_ARTIFACT_URL"] = self.workspace.artifact_url
        # detached (it outlives this process), by the fork server when there is one
        start_supervisor(self.workspace.path, run_id, run_dir / "supervisor.log", env)


class Slot:
    """One of the local compute's run slots, held while a run executes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = None

    def try_acquire(self, capacity: int) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        for index in range(capacity):
            fd = os.open(self.folder / f"slot-{index}", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._fd = fd
            return True
        return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
