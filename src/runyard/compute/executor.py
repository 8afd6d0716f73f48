"""The executor contract: how one run's processes are placed, started, watched and
stopped on one type of compute. The run driver (`runyard.supervisor._driver`) owns the
run's lifecycle and calls these verbs in order; an executor owns nothing else.

    Preparing   preflight()   what is prepared before the run waits for compute
    Queued      acquire()     wait for capacity (a slot, nodes); may enter Scaling
    Starting    prepare()     per node: environment, working directory, data; the plan
    Running     start(plan)   start the plan's processes;  poll() until decided
    Finalizing  stop()        stop what still runs;  collect_outputs()
    (always)    release()     give back what acquire/prepare took

Each compute type names its executor as `"module:Class"` (`ComputeTarget.executor`), so
adding a compute is a target module, an executor module and one registry line
(`runyard.compute.base.COMPUTES`, or the `runyard.computes` entry-point group).
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from runyard._status import FAILED

if TYPE_CHECKING:
    from runyard._spec import RunSpec
    from runyard.compute.base import ComputeTarget
    from runyard.distributed.plan import Plan
    from runyard.store import AbstractStore
    from runyard.workspace import Workspace

KILL_GRACE_SECONDS = 3.0  # SIGTERM, then SIGKILL after this long


class StopRun(Exception):
    """The run is decided while it was being worked on: `status` (Failed, Canceled) with
    `reason`; the driver stops everything and records it."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def failed(reason: str) -> StopRun:
    return StopRun(FAILED, reason)


@dataclass
class Outcome:
    """How the run's processes ended, once decided (`runyard.distributed.completion`)."""

    ok: bool
    error: str | None = None


class RunHandle(Protocol):
    """What an executor may use of the run driver: the run, its folders, and the
    driver's own verbs (a transition is the driver's compare-and-set)."""

    ws: Workspace
    store: AbstractStore
    run_id: str
    run: dict[str, Any]
    config: dict[str, Any]      # the run row's config: the spec's JSON
    @property
    def spec(self) -> RunSpec: ...  # what was submitted, with the plan made at submit
    dir: Path
    logs: Path
    status: str

    def say(self, message: str) -> None: ...
    def transition(self, status: str, detail: str | None = None,
                   error: str | None = None) -> None: ...
    def check_cancel(self) -> None: ...
    def sleep(self, seconds: float) -> None: ...
    def install_signal_handlers(self) -> None: ...
    def process_environment(self) -> dict[str, str]: ...
    def upload_folder(self, folder: Path, base: str) -> None: ...


class Executor(abc.ABC):
    """One run on one compute target (see the module's docstring for the order)."""

    poll_seconds: ClassVar[float] = 0.1  # how often the driver polls a running run

    def __init__(self, compute: ComputeTarget, run: RunHandle) -> None:
        self.compute = compute
        self.run = run
        self.started = False  # start() was called: there are processes (or were)

    def preflight(self) -> None:  # noqa: B027 - optional hook
        """Preparing: what can be ready before the run holds compute (the local compute
        builds the environment here, so a queued run starts as soon as it may)."""

    @abc.abstractmethod
    def acquire(self) -> None:
        """Queued (and Scaling while nodes are added): wait until the run holds the
        capacity it needs; enter Queued (and Scaling) through `run.transition`."""

    @abc.abstractmethod
    def prepare(self) -> Plan:
        """Starting: on every node the run holds, once per node, the environment, the
        working directory (the snapshot) and the data references; return the run's plan
        (`run.spec.plan`, made at submit) bound to the nodes' real addresses and ports
        (`Plan.bind`): an executor never makes a plan of its own."""

    @abc.abstractmethod
    def start(self, plan: Plan) -> None:
        """Running: start the plan's processes (set `started` first)."""

    @abc.abstractmethod
    def poll(self) -> Outcome | None:
        """The run's outcome once decided (`runyard.distributed.completion.judge`)."""

    @abc.abstractmethod
    def stop(self) -> int:
        """Stop every process of the run still running (SIGTERM, SIGKILL after
        KILL_GRACE_SECONDS) and wait for them; return how many needed it."""

    @abc.abstractmethod
    def collect_outputs(self) -> None:
        """Upload each node's ./outputs as the run's `outputs/` files."""

    def release(self) -> None:  # noqa: B027 - optional hook
        """Give back what acquire and prepare took (always called, best effort)."""


def executor_for(compute: ComputeTarget, run: RunHandle) -> Executor:
    """The executor of `compute`'s type for `run` (imported when first used)."""
    from runyard._registry import load

    reference = getattr(type(compute), "executor", None)
    if not isinstance(reference, str):
        raise TypeError(f"{type(compute).__name__} (compute type {compute.type!r}) names no "
                        f"executor; set its `executor` to 'module:Class' of an Executor")
    cls = load(reference)
    if not (isinstance(cls, type) and issubclass(cls, Executor)):
        raise TypeError(f"{type(compute).__name__}.executor names {cls!r}, not an Executor")
    return cls(compute, run)


def with_shim(env: dict[str, str], shim: Path | None) -> dict[str, str]:
    """`env` with runyard's in-run shim first on PYTHONPATH (an interpreter other than
    runyard's own imports runyard.runtime from there)."""
    if shim is None:
        return env
    return {**env, "PYTHONPATH": os.pathsep.join(
        p for p in (str(shim), env.get("PYTHONPATH")) if p)}
