"""The run driver: the process that owns one run's lifecycle, on every compute.

It knows nothing of where the run's processes run: it calls its compute's executor
(`runyard.compute.executor`, chosen by the compute's type) for that, in the stage order
users see (NotStarted → Preparing → Queued [→ Scaling] → Starting → Running → Finalizing
→ end), and owns the rest: transitions, cancel, the time limit, the heartbeat, the
metrics channel's ingest, the logs, finalizing and the end state.

Invariants:
- Only this process writes the run's status, metrics, tags, properties and files while
  the run is active; readers only read (and mark the run Failed if this process is gone).
- Every transition is a compare-and-set from the status this process last wrote; if it
  fails, somebody decided the run already, and the supervisor stops its processes and exits.
- Outputs and logs are uploaded file by file through the artifact store's atomic writes.
- Every process of the run is killed before the run reaches an end state.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from runyard import _status
from runyard._azureml_shim import ensure_azureml_shim
from runyard._foreign import mapped
from runyard._liveness import HEARTBEAT_SECONDS as HEARTBEAT_SECONDS  # read by _sweep
from runyard.compute.executor import Executor, Outcome, StopRun, executor_for
from runyard.environment import EnvironmentCache
from runyard.supervisor import _processes
from runyard.workspace import Workspace

if TYPE_CHECKING:
    from runyard._spec import RunSpec
    from runyard.distributed.plan import Plan
    from runyard.supervisor._ingest import Ingestor

# What is needed only once the script runs (the channel's ingest, removing folders) is
# imported then, while the script starts: submit → the script's first line pays only for
# what the stages before it use (bench/run.py measures it).


def disk_full(error: BaseException) -> bool:
    """Whether `error` says the disk is full (an OS write, SQLite's SQLITE_FULL, or a
    database server's own words)."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    text = str(error).lower()
    return "database or disk is full" in text or "no space left on device" in text


class RunDriver:
    """One run's lifecycle (see the module's docstring); `executor` does the compute's
    part."""

    def __init__(self, workspace: Workspace, run_id: str) -> None:
        self.ws = workspace
        self.store = workspace.store
        self.run_id = run_id
        self.run = self.store.get_run(run_id)
        self.config: dict[str, Any] = self.run["config"] or {}  # the spec's JSON
        self._spec: RunSpec | None = None
        self.dir = workspace.run_dir(run_id)
        self.logs = self.dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.status = self.run["status"]
        self.executor: Executor | None = None
        self._log: IO[str] = open(self.logs / "supervisor.txt", "a", buffering=1)  # noqa: SIM115
        self._wake = threading.Event()
        self._done = threading.Event()
        self._cancel_seen = False
        self._logs_kept = False
        self._ingest: Ingestor | None = None

    @property
    def spec(self) -> RunSpec:
        """What was submitted (the run row's config, read as a RunSpec), with its plan:
        made at submit, or, for a run submitted before plans traveled, made now."""
        if self._spec is None:
            from runyard._spec import RunSpec

            spec = RunSpec.from_json(self.config)
            if spec.plan is None:
                spec = spec.with_plan()
                self.say(f"plan: made now ({spec.plan.kind if spec.plan else '?'}): the "
                         f"run's spec was written before plans traveled with the run")
            else:
                self.say(f"plan: made at submit ({spec.plan.kind}, "
                         f"{spec.plan.world_size} process(es) on "
                         f"{spec.plan.nodes_needed} node(s))")
            self._spec = spec
        return self._spec

    @property
    def ingest(self) -> Ingestor:
        """The metrics channel's reader, made on first use (after the script started)."""
        if self._ingest is None:
            from runyard.supervisor._ingest import Ingestor

            self._ingest = Ingestor(self.dir / "channel", self.store, self.ws.artifacts,
                                    self.run_id, self.run["experiment"], self.say,
                                    staging=self.dir / "staged")
        return self._ingest

    # -- helpers ------------------------------------------------------------------------
    def say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with contextlib.suppress(OSError, ValueError):  # a full disk must not end us here
            self._log.write(f"[{stamp}Z] {message}\n")

    def transition(self, status: str, detail: str | None = None, error: str | None = None) -> None:
        if not self.store.set_status(self.run_id, status, detail=detail, error=error,
                                     only_if=[self.status]):
            now = self.store.get_run(self.run_id)["status"]
            raise StopRun(now, f"run is {now} already; supervisor stops")
        self.say(f"{status}" + (f": {detail}" if detail else "") + (f": {error}" if error else ""))
        self.status = status

    def check_cancel(self) -> None:
        if self._cancel_seen or self.store.get_run(self.run_id)["cancel_requested_at"]:
            raise StopRun(_status.CANCELED, "canceled by request")

    def _heartbeat(self) -> None:
        while not self._done.wait(HEARTBEAT_SECONDS):
            try:
                self.store.heartbeat(self.run_id)
            except Exception as e:  # noqa: BLE001 - a missed beat must not kill the run
                self.say(f"heartbeat failed: {e}")

    def install_signal_handlers(self) -> None:
        """SIGTERM cancels, SIGUSR1 wakes (again after a library replaced them)."""
        signal.signal(signal.SIGUSR1, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGTERM:
            self._cancel_seen = True
        self._wake.set()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, or less when a signal (cancel, wake) comes."""
        self._wake.wait(seconds)
        self._wake.clear()

    # -- the run ------------------------------------------------------------------------
    def main(self) -> int:
        _processes.become_subreaper()
        self.install_signal_handlers()
        self.store.claim_supervisor(self.run_id, os.getpid(), socket.gethostname())
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        try:
            self._prepare()
            self.executor = self._executor()
            # what the compute's own libraries raise (Ray's errors, its REST API's) leaves
            # its executor as the most specific runyard error (runyard._foreign)
            with mapped("compute", f"{self.executor.compute.type} compute "
                                   f"{self.executor.compute.name!r}",
                        name=self.executor.compute.name):
                self.executor.preflight()
                self.executor.acquire()
                self.transition(_status.STARTING)
                plan = self.executor.prepare()
                self.check_cancel()
                outcome = self._execute(plan)
            self._finish(outcome)
        except StopRun as stop:
            self._stop(stop)
        except Exception as e:  # noqa: BLE001 - any failure ends the run as Failed, with why
            self.say(traceback.format_exc())
            if disk_full(e):
                first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
                reason = f"the disk is full (no space left on device) while the run was " \
                         f"{self.status}: {first_line}"
            else:
                reason = f"runyard supervisor error: {type(e).__name__}: {e}"
            self._stop(StopRun(_status.FAILED, reason))
        finally:
            self._done.set()
            if self.executor is not None:
                try:
                    self.executor.release()
                except Exception as e:  # noqa: BLE001 - the end state is recorded already
                    self.say(f"could not release the run's compute: {e}")
            self._cleanup()
        return 0

    def _executor(self) -> Executor:
        from runyard.compute import get_compute_target

        return executor_for(get_compute_target(self.ws, self.run["compute_target"]), self)

    def _prepare(self) -> None:
        if self.status in _status.TERMINAL:  # failed or canceled before we started
            raise StopRun(self.status, f"run is {self.status} already; supervisor stops")
        self.check_cancel()
        self.spec  # noqa: B018 - read now: a spec that does not read fails the run here
        self.transition(_status.PREPARING)
        self.check_cancel()

    def process_environment(self) -> dict[str, str]:
        """The environment of the run's processes, before what each node adds (its
        interpreter's shim, data references, its rank and role: the plan)."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("RUNYARD_SUPERVISOR_LOG", "RUNYARD_STORE_URL",
                            "RUNYARD_ARTIFACT_URL")}
        env.update(self.spec.process_environment_variables)
        # v1 scripts' `from azureml.core import Run`, last on the path of every run: a real
        # azureml-core in the environment still wins (runyard._azureml_shim)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (
            env.get("PYTHONPATH"), str(ensure_azureml_shim(EnvironmentCache().root))) if p)
        env.update({
            "RUNYARD_RUN_ID": self.run_id,
            "RUNYARD_EXPERIMENT": self.run["experiment"],
            "RUNYARD_STAGING": str(self.dir / "staged"),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _execute(self, plan: Plan) -> Outcome:
        executor = self.executor
        assert executor is not None, "a run executes once its compute is acquired"
        self.transition(_status.RUNNING)
        executor.start(plan)
        started = time.monotonic()
        limit = self.spec.max_run_duration_seconds
        last_cancel_check = 0.0
        while (outcome := executor.poll()) is None:
            self.ingest.poll()
            now = time.monotonic()
            if self._cancel_seen or now - last_cancel_check > 0.25:
                last_cancel_check = now
                self.check_cancel()
            if limit and now - started > limit:
                raise StopRun(_status.FAILED, f"run exceeded max_run_duration_seconds={limit}")
            self.sleep(executor.poll_seconds)
        return outcome

    def _finish(self, outcome: Outcome) -> None:
        # what is still running now: parameter servers, stragglers, what the script left
        leftovers = self._stop_processes()
        self.ingest.poll(final=True)
        if leftovers:
            self.say(f"stopped {leftovers} process(es) still running after the run was "
                     f"decided")
        self.transition(_status.FINALIZING)
        self._upload()
        if outcome.ok:
            self.transition(_status.COMPLETED)
        else:
            self.transition(_status.FAILED, error=outcome.error)

    def _stop(self, stop: StopRun) -> None:
        """End the run early: kill every process, keep what was logged, record why."""
        self.say(f"stopping: {stop.reason}")
        if stop.status == _status.CANCELED and self.status not in _status.TERMINAL:
            with contextlib.suppress(StopRun):
                self.transition(_status.CANCEL_REQUESTED)
        self._wind_down(stop)
        if self.status in _status.TERMINAL:
            return
        error = None if stop.status == _status.CANCELED else stop.reason
        try:
            with contextlib.suppress(StopRun):
                self.transition(stop.status, detail=stop.reason, error=error)
        except Exception as e:  # noqa: BLE001 - a full disk: make room, then say why
            self.say(f"could not record the end state ({e}); freeing the run's scratch "
                     f"space and trying again")
            from runyard.artifacts._walk import remove_tree

            for name in ("wd", "staged", "channel"):
                remove_tree(self.dir / name)
            with contextlib.suppress(StopRun):
                self.transition(stop.status, detail=stop.reason, error=error)

    def _wind_down(self, stop: StopRun) -> None:  # noqa: ARG002 - a sweep's says why
        """What `_stop` does before it records the end: stop every process, keep what
        they logged and wrote (a sweep's driver cancels its children instead)."""
        self._stop_processes()
        try:
            self.ingest.poll(final=True)
            if self.executor is not None and self.executor.started:
                self._upload()
        except Exception as e:  # noqa: BLE001 - the end state matters more
            self.say(f"could not save outputs: {e}")

    def _stop_processes(self) -> int:
        """Stop every process of the run still running; return how many needed it."""
        return self.executor.stop() if self.executor is not None else 0

    def _upload(self) -> None:
        try:
            self._upload_outputs()
        finally:  # the logs say why, whatever happened to the outputs
            with contextlib.suppress(OSError, ValueError):
                self._log.flush()
            self.upload_folder(self.logs, "logs")
            self._logs_kept = True

    def _upload_outputs(self) -> None:
        if self.executor is not None:
            self.executor.collect_outputs()

    def upload_folder(self, folder: Path, base: str) -> None:
        """Every file under `folder` becomes the run's file `<base>/<relative path>`; what
        is left out is named in a warning (runyard.artifacts._run_files). Links in
        outputs/ may point anywhere in the working directory, links in logs/ only there."""
        from runyard.artifacts._run_files import record_warnings, upload_run_folder

        uploaded = upload_run_folder(
            self.ws.artifacts, self.run_id, folder, base,
            inside=folder.parent if base == "outputs" else folder,
            on_batch=lambda files: self.store.add_files(self.run_id, files))
        for warning in uploaded.warnings:
            self.say(f"warning: {warning}")
        record_warnings(self.store, self.run_id, base, uploaded.warnings)

    def _cleanup(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._log.close()
        supervisor_log = self.logs / "supervisor.txt"
        try:  # the copy uploaded at Finalizing lacks the end state
            if not self._logs_kept:
                self.upload_folder(self.logs, "logs")
            size = self.ws.artifacts.put_file(supervisor_log, f"runs/{self.run_id}/logs/"
                                                              "supervisor.txt")
            self.store.add_files(self.run_id, [("logs/supervisor.txt", size)])
            self._logs_kept = True
        except Exception:  # noqa: BLE001 - best effort after the end state
            pass
        from runyard.artifacts._walk import remove_tree

        # logs/ too once they are in the artifact store (readers fall back to it); where
        # they could not be saved (a full disk), they stay here, the only copy of why
        for name in ("wd", "channel", "staged", *(("logs",) if self._logs_kept else ())):
            remove_tree(self.dir / name)
        if not self._logs_kept:
            return
        crash_log = self.dir / "supervisor.log"  # the process's own stdout/stderr
        if not crash_log.exists() or crash_log.stat().st_size == 0:
            remove_tree(self.dir)
