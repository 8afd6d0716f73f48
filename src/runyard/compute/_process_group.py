"""Starting the processes of a plan on this machine (the local executor's, and each Ray
node agent's for its node) and deciding how they ended.

One process per planned process (`direct`), or one `mpirun` that starts every rank
(`mpirun`); each rank then writes its own log and channel file, named by its rank.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from runyard._local import read_tail
from runyard.compute.executor import Outcome
from runyard.distributed.completion import Member, judge
from runyard.distributed.plan import Plan, ProcessSpec
from runyard.supervisor import _processes

# Each rank started by mpirun names its log and channel by its rank, and exports what
# every runyard process gets.
_MPI_RANK = r"""
r=$OMPI_COMM_WORLD_RANK
export RANK=$r WORLD_SIZE=$OMPI_COMM_WORLD_SIZE LOCAL_RANK=$OMPI_COMM_WORLD_LOCAL_RANK
export NODE_RANK=$((r / RUNYARD_PER_NODE)) RUNYARD_ROLE=worker RUNYARD_ROLE_INDEX=$r
export RUNYARD_CHANNEL="$RUNYARD_CHANNEL_DIR/$r.bin"
exec "$@" >>"$RUNYARD_LOG_DIR/worker_$r.txt" 2>&1
"""


def last_line(path: Path) -> str:
    lines = read_tail(path, 4096).splitlines()
    return next((line.strip() for line in reversed(lines) if line.strip()), "")[:500]


def _has_module(interpreter: str, module: str, env: dict[str, str]) -> bool:
    """Whether `interpreter` (a Python) can import `module` (without importing it)."""
    try:
        found = subprocess.run(
            [interpreter, "-c", f"import importlib.util, sys; "
                                f"sys.exit(importlib.util.find_spec({module!r}) is None)"],
            env=env, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0


def failure_message(plan: Plan, spec: ProcessSpec | None, returncode: int,
                    command: list[str], logs: Path) -> str:
    """Why the run failed: `spec`'s process (None: mpirun) ended with `returncode`, with
    the last line its log says."""
    script = command[1] if len(command) > 1 else command[0]
    if returncode < 0:
        what = f"{script} was killed by {_processes.signal_name(returncode)}"
    else:
        what = f"{script} exited with code {returncode}"
    if spec is None:  # mpirun: the first rank log that says something, else its own
        rank_logs = [logs.parent / p.log_name for p in plan.processes]
        last = next((line for line in map(last_line, rank_logs) if line), "") or \
            last_line(logs / "mpirun.txt")
        return f"mpirun: {what}" + (f": {last}" if last else "")
    last = last_line(logs.parent / spec.log_name)
    prefix = "" if plan.kind == "single" else f"{spec.label}: "
    return f"{prefix}{what}" + (f": {last}" if last else "")


def outcome_of(plan: Plan, command: list[str], logs: Path,
               states: Sequence[tuple[ProcessSpec | None, int | None]],
               decided_at: float | None) -> tuple[Outcome | None, float | None]:
    """The run's outcome from its processes' exit codes (`states`: each process's spec,
    None for a launcher such as mpirun, and its return code, None while it runs), by the
    completion policy; and when its deciders succeeded, for the next call."""
    verdict = judge([Member(decides=spec is None or spec.decides,
                            serves=spec is not None and spec.serves, returncode=code)
                     for spec, code in states], decided_at, time.monotonic())
    if verdict.failed is not None:
        spec, code = states[verdict.failed]
        assert code is not None, "a failed process has ended"
        return Outcome(False, failure_message(plan, spec, code, command, logs)), \
            verdict.decided_at
    return (Outcome(True) if verdict.ok else None), verdict.decided_at


def mpirun_available() -> bool:
    return shutil.which("mpirun") is not None


class ProcessGroup:
    """The running processes of one plan."""

    def __init__(self, plan: Plan, command: list[str], cwd: Path, env: dict[str, str],
                 logs: Path, channels: Path) -> None:
        self.plan = plan
        self.command = command
        self.cwd = cwd
        self.env = env
        self.logs = logs
        self.channels = channels
        self.running: list[tuple[ProcessSpec | None, subprocess.Popen[bytes]]] = []
        self._decided_at: float | None = None

    @property
    def pids(self) -> set[int]:
        return {process.pid for _, process in self.running}

    def start(self) -> None:
        self.channels.mkdir(parents=True, exist_ok=True)
        if self.plan.launcher == "mpirun":
            self._start_mpirun()
            return
        for spec in self.plan.processes:
            env = {**self.env, **spec.env,
                   "RUNYARD_CHANNEL": str(self.channels / f"{spec.rank}.bin")}
            with open(self.logs.parent / spec.log_name, "ab") as log:
                process = subprocess.Popen(
                    self.command, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                    preexec_fn=_processes.die_with_parent(),
                )
            self.running.append((spec, process))

    def _start_mpirun(self) -> None:
        plan = self.plan
        per_node = plan.world_size // plan.node_count
        env = {**self.env, "RUNYARD_CHANNEL_DIR": str(self.channels),
               "RUNYARD_LOG_DIR": str(self.logs), "RUNYARD_PER_NODE": str(per_node),
               # root in containers; more ranks than cores on small machines; quiet
               "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
               "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
               "OMPI_MCA_rmaps_base_oversubscribe": "1"}
        for spec in plan.processes:  # the logs exist from the start, in rank order
            (self.logs.parent / spec.log_name).touch()
        command = list(self.command)
        if _has_module(command[0], "mpi4py", env):
            # A rank that fails after MPI_Init would hang in MPI_Finalize, and the others
            # in their next collective, forever; `python -m mpi4py` aborts the whole job
            # on an uncaught exception or a non-zero exit instead.
            command[1:1] = ["-m", "mpi4py"]
        mpirun = ["mpirun", "-np", str(plan.world_size), "--oversubscribe",
                  "/bin/sh", "-c", _MPI_RANK, "sh", *command]
        with open(self.logs / "mpirun.txt", "ab") as log:
            process = subprocess.Popen(
                mpirun, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_processes.die_with_parent(),
            )
        self.running.append((None, process))

    def poll(self) -> Outcome | None:
        """The run's outcome once it is decided (runyard.distributed.completion), else None."""
        outcome, self._decided_at = outcome_of(
            self.plan, self.command, self.logs,
            [(spec, process.poll()) for spec, process in self.running], self._decided_at)
        return outcome

    def wait(self) -> None:
        for _, process in self.running:
            process.wait()
