"""The local compute's executor: a run's processes on this machine, below its driver.

- Preparing: the environment is built (or found in the cache) here, before the run
  waits for a slot, so a queued run starts as soon as one frees.
- Queued: one of the compute's `max_concurrent_runs` slots (flock'ed files, freed with
  the process that holds one); the setting is re-read while waiting.
- Starting: the working directory and data references; the run's plan (made at submit)
  bound to 127.0.0.1 and free ports.
- Running: a ProcessGroup (one process per planned process, or one mpirun); stopping
  kills the driver's whole process tree (it is the subreaper of everything the run
  started, daemons included).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from runyard._status import QUEUED
from runyard.compute._node import (
    NodeEnvironment,
    prepare_environment,
    prepare_working_directory,
)
from runyard.compute._process_group import ProcessGroup
from runyard.compute.executor import KILL_GRACE_SECONDS, Executor, Outcome, with_shim
from runyard.compute.local import Slot
from runyard.distributed.plan import Plan
from runyard.supervisor import _processes

if TYPE_CHECKING:
    from runyard.compute._node import WorkingDirectory

PORTS_PER_RUN = 64


class _HeldPorts(Iterator[int]):
    """Free ports of this machine, bound one at a time as a plan takes them and held
    (so all distinct) until `close`; at most `limit`. A single-process plan takes none."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: list[socket.socket] = []

    def __next__(self) -> int:
        if len(self._held) >= self.limit:
            raise StopIteration
        handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._held.append(handle)
        handle.bind(("127.0.0.1", 0))
        return int(handle.getsockname()[1])

    def close(self) -> None:
        for handle in self._held:
            handle.close()
        self._held.clear()


class LocalExecutor(Executor):
    """One run on the local compute (see the module's docstring)."""

    environment: NodeEnvironment | None = None
    workdir: WorkingDirectory | None = None
    group: ProcessGroup | None = None
    slot: Slot | None = None

    def preflight(self) -> None:
        run = self.run
        self.environment = prepare_environment(run.spec, run.logs, run.say, run.check_cancel)

    def acquire(self) -> None:
        from runyard.compute import get_compute_target

        run, name = self.run, self.compute.name
        self.slot = Slot(run.ws.config_dir / "slots" / name)
        capacity = int(self.compute.config.get("max_concurrent_runs", 1))
        run.transition(QUEUED, detail=f"waiting for one of {capacity} slots on {name}")
        last_config = time.monotonic()
        while not self.slot.try_acquire(capacity):
            run.check_cancel()
            run.sleep(0.2)
            if time.monotonic() - last_config > 2:  # the setting may have changed
                capacity = int(get_compute_target(run.ws, name)
                               .config.get("max_concurrent_runs", 1))
                last_config = time.monotonic()

    def prepare(self) -> Plan:
        run = self.run
        self.workdir = prepare_working_directory(run.ws, run.spec, run.run["snapshot_id"],
                                                 run.dir / "wd", run.say)
        plan = run.spec.plan
        assert plan is not None, "the driver's spec has its plan"
        ports = _HeldPorts(PORTS_PER_RUN)
        try:
            return plan.bind(["127.0.0.1"] * plan.nodes_needed, ports)
        finally:
            ports.close()

    def start(self, plan: Plan) -> None:
        run, environment, workdir = self.run, self.environment, self.workdir
        assert environment is not None, "prepared before start"
        assert workdir is not None, "prepared before start"
        command = [environment.interpreter, run.spec.script, *workdir.arguments]
        env = {**with_shim(run.process_environment(), environment.shim),
               **workdir.data_environment}
        self.group = ProcessGroup(plan, command, workdir.path, env, run.logs,
                                  run.dir / "channel")
        self.started = True
        run.say(f"starting {plan.world_size} process(es) ({plan.kind}, {plan.launcher}): "
                f"{' '.join(command)}")
        self.group.start()

    def poll(self) -> Outcome | None:
        assert self.group is not None, "polled after start"
        return self.group.poll()

    def stop(self) -> int:
        """Every process below the driver, the run's and what they left (daemons)."""
        waited = self.group.pids if self.group is not None else set()
        leftovers = _processes.kill_tree(os.getpid(), KILL_GRACE_SECONDS,
                                         waited_elsewhere=waited)
        if self.group is not None:
            self.group.wait()
        return len(leftovers)

    def collect_outputs(self) -> None:
        assert self.workdir is not None, "outputs are collected after start"
        self.run.upload_folder(self.workdir.path / "outputs", "outputs")
        # what the script wrote to ./logs (TensorBoard's event files, as v1 keeps them)
        self.run.upload_folder(self.workdir.path / "logs", "logs")

    def release(self) -> None:
        if self.slot is not None:
            self.slot.release()
        if self.environment is not None:
            self.environment.release()
