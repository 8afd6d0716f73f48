"""The process that owns one run: prepare, queue, start, watch, finalize, heartbeat.

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
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

from runyard import _status
from runyard._local import free_ports
from runyard.artifacts import snapshot
from runyard.artifacts._walk import remove_tree
from runyard.azureml._in_run import ensure_azureml_shim
from runyard.compute import get_compute_target
from runyard.compute.local import Slot
from runyard.distributed.plan import Plan, make_plan
from runyard.environment import EnvironmentCache, PreparedEnvironment
from runyard.environment._shim import ensure_runtime_shim
from runyard.errors import EnvironmentBuildError
from runyard.supervisor import _processes
from runyard.supervisor._group import Outcome, ProcessGroup
from runyard.supervisor._ingest import Ingestor
from runyard.workspace import Workspace

HEARTBEAT_SECONDS = 5.0
KILL_GRACE_SECONDS = 3.0
POLL_SECONDS = 0.1


def disk_full(error: BaseException) -> bool:
    """Whether `error` says the disk is full (an OS write, SQLite's SQLITE_FULL, or a
    database server's own words)."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    text = str(error).lower()
    return "database or disk is full" in text or "no space left on device" in text


class _Stop(Exception):
    """The run was decided while we worked (canceled, timed out, taken over)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Supervisor:
    def __init__(self, workspace: Workspace, run_id: str) -> None:
        self.ws = workspace
        self.store = workspace.store
        self.run_id = run_id
        self.run = self.store.get_run(run_id)
        self.config: dict[str, Any] = self.run["config"] or {}
        self.dir = workspace.run_dir(run_id)
        self.logs = self.dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.status = self.run["status"]
        self.group: ProcessGroup | None = None
        self.environment: PreparedEnvironment | None = None
        self.shim: Path | None = None
        self.slot: Slot | None = None
        self.data_environment: dict[str, str] = {}  # DataReference paths, set in _start
        self._log: IO[str] = open(self.logs / "supervisor.txt", "a", buffering=1)  # noqa: SIM115
        self._wake = threading.Event()
        self._done = threading.Event()
        self._cancel_seen = False
        self._logs_kept = False
        self.ingest = Ingestor(self.dir / "channel", self.store, workspace.artifacts, run_id,
                               self.run["experiment"], self.say, staging=self.dir / "staged")

    # -- helpers ------------------------------------------------------------------------
    def say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with contextlib.suppress(OSError, ValueError):  # a full disk must not end us here
            self._log.write(f"[{stamp}Z] {message}\n")

    def transition(self, status: str, detail: str | None = None, error: str | None = None) -> None:
        if not self.store.set_status(self.run_id, status, detail=detail, error=error,
                                     only_if=[self.status]):
            now = self.store.get_run(self.run_id)["status"]
            raise _Stop(now, f"run is {now} already; supervisor stops")
        self.say(f"{status}" + (f": {detail}" if detail else "") + (f": {error}" if error else ""))
        self.status = status

    def check_cancel(self) -> None:
        if self._cancel_seen or self.store.get_run(self.run_id)["cancel_requested_at"]:
            raise _Stop(_status.CANCELED, "canceled by request")

    def _heartbeat(self) -> None:
        while not self._done.wait(HEARTBEAT_SECONDS):
            try:
                self.store.heartbeat(self.run_id)
            except Exception as e:  # noqa: BLE001 - a missed beat must not kill the run
                self.say(f"heartbeat failed: {e}")

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGTERM:
            self._cancel_seen = True
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    # -- the run ------------------------------------------------------------------------
    def main(self) -> int:
        _processes.become_subreaper()
        signal.signal(signal.SIGUSR1, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        self.store.claim_supervisor(self.run_id, os.getpid(), socket.gethostname())
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        try:
            self._prepare()
            self._queue()
            self._start()
            self._finish(self._execute())
        except _Stop as stop:
            self._stop(stop)
        except Exception as e:  # noqa: BLE001 - any failure ends the run as Failed, with why
            self.say(traceback.format_exc())
            if disk_full(e):
                first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
                reason = f"the disk is full (no space left on device) while the run was " \
                         f"{self.status}: {first_line}"
            else:
                reason = f"runyard supervisor error: {type(e).__name__}: {e}"
            self._stop(_Stop(_status.FAILED, reason))
        finally:
            self._done.set()
            if self.slot is not None:
                self.slot.release()
            if self.environment is not None:
                self.environment.release()
            self._cleanup()
        return 0

    def _prepare(self) -> None:
        if self.status in _status.TERMINAL:  # failed or canceled before we started
            raise _Stop(self.status, f"run is {self.status} already; supervisor stops")
        self.check_cancel()
        self.transition(_status.PREPARING)
        self.check_cancel()
        environment = self.config.get("environment")
        if environment is not None and not environment["user_managed"]:
            self._build_environment(environment["spec"])
        else:
            definition = (environment or {}).get("definition", {})
            self.interpreter = (definition.get("python", {}).get("interpreter_path")
                                or self.config.get("interpreter") or sys.executable)
            self.say(f"environment: user-managed, interpreter {self.interpreter}")
        if not os.access(self.interpreter, os.X_OK):
            raise _Stop(_status.FAILED, f"interpreter {self.interpreter} is not there or "
                                         f"not executable")
        if self.interpreter != sys.executable:
            self.shim = ensure_runtime_shim(EnvironmentCache().root)

    def _build_environment(self, spec: dict[str, Any]) -> None:
        """Build or reuse the environment in a thread, so a cancel is seen meanwhile."""
        cache = EnvironmentCache()
        outcome: dict[str, Any] = {}

        def work() -> None:
            with open(self.logs / "environment.txt", "a", buffering=1) as log:
                try:
                    outcome["prepared"] = cache.prepare(spec, log, on_wait=self.say)
                except BaseException as e:  # noqa: BLE001 - handed to the main thread
                    outcome["error"] = e

        builder = threading.Thread(target=work, name="environment", daemon=True)
        builder.start()
        while builder.is_alive():
            self.check_cancel()
            builder.join(0.25)
        if "error" in outcome:
            error = outcome["error"]
            if isinstance(error, EnvironmentBuildError):
                raise _Stop(_status.FAILED, f"environment build failed: {error}")
            raise error
        self.environment = outcome["prepared"]
        self.interpreter = str(self.environment.interpreter)
        self.say(f"environment {self.environment.hash[:12]}: "
                 f"{'cache hit' if self.environment.cache_hit else 'built'} in "
                 f"{self.environment.seconds:.2f} s, interpreter {self.interpreter}")

    def _queue(self) -> None:
        compute = get_compute_target(self.ws, self.run["compute_target"])
        self.slot = Slot(self.ws.config_dir / "slots" / compute.name)
        capacity = int(compute.config.get("max_concurrent_runs", 1))
        self.transition(_status.QUEUED, detail=f"waiting for one of {capacity} slots "
                                                f"on {compute.name}")
        last_config = time.monotonic()
        while not self.slot.try_acquire(capacity):
            self.check_cancel()
            self._sleep(0.2)
            if time.monotonic() - last_config > 2:
                capacity = int(get_compute_target(self.ws, compute.name)
                               .config.get("max_concurrent_runs", 1))
                last_config = time.monotonic()

    def _start(self) -> None:
        self.transition(_status.STARTING)
        self.workdir = self.dir / "wd"
        count = snapshot.materialize(self.run["snapshot_id"], self.ws.artifacts, self.workdir)
        (self.workdir / "outputs").mkdir(exist_ok=True)
        self.say(f"working directory {self.workdir} with {count} files from snapshot "
                 f"{self.run['snapshot_id'][:12]}")
        self.check_cancel()
        # DataReferences in the arguments become local paths (runyard.data): the tokens in
        # the arguments are replaced and their environment variables set.
        if self.config.get("data_references"):
            from runyard.data import apply_data_references
            from runyard.errors import RunyardError

            try:
                self.config["arguments"], self.data_environment = apply_data_references(
                    self.ws, self.config["data_references"], self.config.get("arguments", []),
                    self.workdir, self.say)
            except (RunyardError, OSError) as e:
                raise _Stop(_status.FAILED, f"could not make the data references "
                                            f"available: {e}") from e
            self.check_cancel()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("RUNYARD_SUPERVISOR_LOG", "RUNYARD_STORE_URL",
                            "RUNYARD_ARTIFACT_URL")}
        definition = (self.config.get("environment") or {}).get("definition") or {}
        for variables in (definition.get("environment_variables"),
                          self.config.get("environment_variables")):
            env.update({str(k): str(v) for k, v in (variables or {}).items()})
        if self.shim is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(self.shim), env.get("PYTHONPATH")) if p)
        # v1 scripts' `from azureml.core import Run`, last on the path of every run: a real
        # azureml-core in the environment still wins (runyard.azureml._in_run)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (
            env.get("PYTHONPATH"), str(ensure_azureml_shim(EnvironmentCache().root))) if p)
        env.update(self.data_environment)  # RUNYARD_/AZUREML_DATAREFERENCE_<name>
        env.update({  # each process adds its rank, role, channel (the plan, ProcessGroup)
            "RUNYARD_RUN_ID": self.run_id,
            "RUNYARD_EXPERIMENT": self.run["experiment"],
            "RUNYARD_STAGING": str(self.dir / "staged"),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _plan(self) -> Plan:
        ports = iter(free_ports(64))
        return make_plan(self.config.get("distributed"), ["127.0.0.1"], ports)

    def _execute(self) -> Outcome:
        command = [self.interpreter, self.config["script"], *self.config.get("arguments", [])]
        plan = self._plan()
        self.group = ProcessGroup(plan, command, self.workdir, self._environment(), self.logs,
                                  self.dir / "channel")
        self.transition(_status.RUNNING)
        self.say(f"starting {plan.world_size} process(es) ({plan.kind}, {plan.launcher}): "
                 f"{' '.join(command)}")
        self.group.start()
        started = time.monotonic()
        limit = self.config.get("max_run_duration_seconds")
        last_cancel_check = 0.0
        while (outcome := self.group.poll()) is None:
            self.ingest.poll()
            now = time.monotonic()
            if self._cancel_seen or now - last_cancel_check > 0.25:
                last_cancel_check = now
                self.check_cancel()
            if limit and now - started > limit:
                raise _Stop(_status.FAILED, f"run exceeded max_run_duration_seconds={limit}")
            self._sleep(POLL_SECONDS)
        return outcome

    def _finish(self, outcome: Outcome) -> None:
        assert self.group is not None, "a run is finished after its processes started"
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

    def _stop(self, stop: _Stop) -> None:
        """End the run early: kill every process, keep what was logged, record why."""
        self.say(f"stopping: {stop.reason}")
        if stop.status == _status.CANCELED and self.status not in _status.TERMINAL:
            with contextlib.suppress(_Stop):
                self.transition(_status.CANCEL_REQUESTED)
        self._stop_processes()
        try:
            self.ingest.poll(final=True)
            if self.group is not None:
                self._upload()
        except Exception as e:  # noqa: BLE001 - the end state matters more
            self.say(f"could not save outputs: {e}")
        if self.status in _status.TERMINAL:
            return
        error = None if stop.status == _status.CANCELED else stop.reason
        try:
            with contextlib.suppress(_Stop):
                self.transition(stop.status, detail=stop.reason, error=error)
        except Exception as e:  # noqa: BLE001 - a full disk: make room, then say why
            self.say(f"could not record the end state ({e}); freeing the run's scratch "
                     f"space and trying again")
            for name in ("wd", "staged", "channel"):
                remove_tree(self.dir / name)
            with contextlib.suppress(_Stop):
                self.transition(stop.status, detail=stop.reason, error=error)

    def _stop_processes(self) -> int:
        """Stop every process of the run still running (SIGTERM, SIGKILL after
        KILL_GRACE_SECONDS) and wait for them; return how many needed it."""
        waited = self.group.pids if self.group is not None else set()
        leftovers = _processes.kill_tree(os.getpid(), KILL_GRACE_SECONDS,
                                         waited_elsewhere=waited)
        if self.group is not None:
            self.group.wait()
        return len(leftovers)

    def _upload(self) -> None:
        try:
            self._upload_outputs()
        finally:  # the logs say why, whatever happened to the outputs
            with contextlib.suppress(OSError, ValueError):
                self._log.flush()
            self._upload_folder(self.logs, "logs")
            self._logs_kept = True

    def _upload_outputs(self) -> None:
        self._upload_folder(self.workdir / "outputs", "outputs")

    def _upload_folder(self, folder: Path, base: str) -> None:
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
                self._upload_folder(self.logs, "logs")
            size = self.ws.artifacts.put_file(supervisor_log, f"runs/{self.run_id}/logs/"
                                                              "supervisor.txt")
            self.store.add_files(self.run_id, [("logs/supervisor.txt", size)])
            self._logs_kept = True
        except Exception:  # noqa: BLE001 - best effort after the end state
            pass
        # logs/ too once they are in the artifact store (readers fall back to it); where
        # they could not be saved (a full disk), they stay here, the only copy of why
        for name in ("wd", "channel", "staged", *(("logs",) if self._logs_kept else ())):
            remove_tree(self.dir / name)
        if not self._logs_kept:
            return
        crash_log = self.dir / "supervisor.log"  # the process's own stdout/stderr
        if not crash_log.exists() or crash_log.stat().st_size == 0:
            remove_tree(self.dir)
