"""`Tensorboard`: a real TensorBoard process over runs' event files (v1's
`azureml.tensorboard.Tensorboard`).

`start()` copies each run's event files into `local_root/<run id>` (`_sync.RunEvents`),
starts `python -m tensorboard.main --logdir local_root` on 127.0.0.1, waits until it
answers HTTP and returns its address; a thread copies what the runs write next every
`sync_seconds` until every run has ended. `stop()` ends the thread and the process
(its whole process group) and removes a `local_root` it made itself.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runyard.errors import MissingExtraError, RunyardError, ValidationError
from runyard.tensorboard._export import MetricExporter
from runyard.tensorboard._sync import RunEvents

SYNC_SECONDS = 1.0
START_TIMEOUT = 90.0


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _folder_name(run: Any, use_display_name: bool) -> str:
    name = run.display_name if use_display_name and run.display_name else run.id
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or str(run.id)


class Tensorboard:
    """TensorBoard over `runs`' event files (their `logs/` and `outputs/`), following the
    active ones as they write.

    `runs`: a list of Runs (empty: TensorBoard over what `local_root` already holds);
    `local_root`: where the event files are copied (default: a temporary folder,
    removed by `stop()`); `port`: TensorBoard's port on 127.0.0.1 (0: any free one);
    `use_display_name`: name each run's folder by its display name, not its id;
    `metrics`: also write the runs' runyard metrics (`run.log`) as scalars
    (`export_to_tensorboard`), under `<run>/runyard`."""

    LOGS_ARTIFACT_PREFIX = "logs/"

    def __init__(self, runs: Sequence[Any], local_root: str | os.PathLike[str] | None = None,
                 port: int = 6006, use_display_name: bool = False, *,
                 metrics: bool = False, sync_seconds: float = SYNC_SECONDS) -> None:
        from runyard.run import Run

        if isinstance(runs, Run | str) or not isinstance(runs, Sequence):
            raise ValidationError(f"runs must be a list of runs (Tensorboard([run])), not "
                                  f"{type(runs).__name__}", parameter="runs")
        bad = [r for r in runs if not isinstance(r, Run)]
        if bad:
            raise ValidationError(f"runs must be runyard Runs (Run.get(ws, run_id)); got "
                                  f"{type(bad[0]).__name__} {bad[0]!r}", parameter="runs")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValidationError(f"port must be a number from 0 to 65535, not {port!r}",
                                  parameter="port", value=port)
        if not runs and local_root is None:
            raise ValidationError("no runs and no local_root: give the runs to show, or a "
                                  "local_root that holds event files", parameter="runs")
        for run in runs:
            run._fetch()  # an unknown run id fails here: RunNotFoundError
        self.runs = list(runs)
        self.port = port
        self.use_display_name = use_display_name
        self.metrics = metrics
        self.sync_seconds = sync_seconds
        self._own_root = local_root is None
        self.local_root = Path(local_root) if local_root is not None else None
        if self.local_root is not None and self.local_root.exists() \
                and not self.local_root.is_dir():
            raise ValidationError(f"local_root {self.local_root} exists and is not a folder",
                                  path=str(self.local_root))
        self.url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._events: list[RunEvents] = []
        self._exporters: list[MetricExporter] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, start_browser: bool = False) -> str:
        """Copy the runs' event files, start TensorBoard, and return its address."""
        if self._process is not None:
            raise RunyardError(f"this Tensorboard is already running at {self.url}; "
                               f"stop() it first")
        try:
            import tensorboard  # type: ignore[import-untyped]  # noqa: F401
        except ImportError as error:
            raise MissingExtraError("TensorBoard is not installed: pip install "
                                    "'runyard[tensorboard]' (or pip install tensorboard)",
                                    package="tensorboard") from error
        port = self.port or _free_port()
        if not _port_free(port):
            raise ValidationError(f"port {port} on 127.0.0.1 is in use (another TensorBoard?);"
                                  f" stop that one or pass another port (port=0: any free one)",
                                  parameter="port", value=port)
        if self.local_root is None:
            self.local_root = Path(tempfile.mkdtemp(prefix="runyard-tensorboard-"))
        self.local_root.mkdir(parents=True, exist_ok=True)
        self._events = [RunEvents(run, self.local_root / _folder_name(run, self.use_display_name))
                        for run in self.runs]
        self._exporters = [MetricExporter(run, events.target / "runyard")
                           for run, events in zip(self.runs, self._events, strict=True)
                           ] if self.metrics else []
        self.sync()
        log = self.local_root / ".tensorboard.log"  # not an event file: TensorBoard skips it
        command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(self.local_root),
                   "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "1",
                   "--load_fast", "false"]
        with open(log, "wb") as out:
            self._process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}/"
        try:
            self._wait_until_serving(url, log)
        except BaseException:
            self._end_process()
            raise
        self.url = url
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="runyard-tensorboard-sync",
                                        daemon=True)
        self._thread.start()
        if start_browser:
            webbrowser.open(url)
        return url

    def stop(self) -> None:
        """Stop following the runs and end the TensorBoard process."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        for exporter in self._exporters:
            exporter.close()
        self._end_process()
        self.url = None
        if self._own_root and self.local_root is not None:
            shutil.rmtree(self.local_root, ignore_errors=True)
            self.local_root = None

    def __enter__(self) -> Tensorboard:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """The TensorBoard process's id while it runs."""
        return self._process.pid if self._process is not None else None

    # -- following --------------------------------------------------------------------------
    def sync(self) -> int:
        """Copy what the runs wrote since the last sync (and export new metric points);
        returns the bytes copied."""
        copied = sum(events.sync() for events in self._events if events.active)
        for exporter in self._exporters:
            exporter.sync()
        return copied

    @property
    def following(self) -> bool:
        return any(events.active for events in self._events)

    def _follow(self) -> None:
        while self.following and not self._stop.wait(self.sync_seconds):
            try:
                self.sync()
            except (RunyardError, OSError) as error:
                print(f"runyard tensorboard: could not copy the runs' event files: {error}",
                      file=sys.stderr, flush=True)

    # -- the process ----------------------------------------------------------------------
    def _wait_until_serving(self, url: str, log: Path) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                said = log.read_text(errors="replace")[-2000:].strip()
                raise RunyardError(f"TensorBoard exited at start with code "
                                   f"{self._process.returncode}: {said}", log=str(log))
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(url + "data/environment", timeout=2) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.2)
        raise RunyardError(f"TensorBoard did not answer on {url} within {START_TIMEOUT:.0f} s; "
                           f"its log: {log}", log=str(log))

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
