"""Following a run: its stage changes and the new lines of its logs, as they come."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, TextIO

from runyard import _status

if TYPE_CHECKING:
    from runyard.run import Run

TAIL_LINES = 20
ENVIRONMENT_LOG = "logs/environment.txt"
# Which logs belong before a stage line, when one step sees several stages at once: the
# environment's build comes before whatever follows [Preparing], the processes' lines
# before whatever follows [Running].
_AFTER_PREPARING = frozenset({_status.QUEUED, _status.SCALING, _status.STARTING,
                              _status.RUNNING})


class Follower:
    """Each `step()` reads the run once and writes what is new to `out` (if any)."""

    def __init__(self, run: Run, out: TextIO | None, *, logs: bool = True) -> None:
        self.run = run
        self.out = out
        self.logs = logs
        self._events_seen = 0
        self._offsets: dict[str, int] = {}
        self._partial: dict[str, bytes] = {}
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._header = False

    def _write(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()

    def step(self) -> dict[str, Any]:
        run = self.run
        row = run._fetch()
        if not self._header:
            self._write(f"RunId: {run.id}")
            self._header = True
        events = run.workspace.store.status_events(run.id)
        for event in events[self._events_seen:]:
            if event["status"] in _AFTER_PREPARING:
                self._read_logs(only=ENVIRONMENT_LOG)
            elif event["status"] not in (_status.NOT_STARTED, _status.PREPARING):
                self._read_logs()
            detail = f" ({event['detail']})" if event["detail"] else ""
            self._write(f"[{event['status']}]{detail}")
        self._events_seen = len(events)
        self._read_logs()
        return row

    def _user_logs(self) -> list[str]:
        """The environment build first (it happens first), then the processes' logs."""
        names = [n for n in self.run._log_names() if n != "logs/supervisor.txt"]
        return sorted(names, key=lambda n: (n != ENVIRONMENT_LOG, n))

    def _read_logs(self, only: str | None = None) -> None:
        names = self._user_logs()
        several_processes = len([n for n in names if n != ENVIRONMENT_LOG]) > 1
        for name in names:
            if only is not None and name != only:
                continue
            data = self.run.read_log(name, self._offsets.get(name, 0))
            if not data:
                continue
            self._offsets[name] = self._offsets.get(name, 0) + len(data)
            data = self._partial.pop(name, b"") + data
            lines = data.split(b"\n")
            if lines[-1]:
                self._partial[name] = lines[-1]
            label = name.removeprefix("logs/").removesuffix(".txt")
            prefixed = several_processes or name == ENVIRONMENT_LOG
            for raw in lines[:-1]:
                line = raw.decode("utf-8", "replace")
                self._tail.append(line)
                if self.logs:
                    self._write(f"[{label}] {line}" if prefixed else line)

    def finish(self) -> None:
        self._read_logs()
        for rest in self._partial.values():
            line = rest.decode("utf-8", "replace")
            self._tail.append(line)
            if self.logs:
                self._write(line)
        self._partial.clear()
        row = self.run._fetch()
        self._write("")
        self._write("Execution Summary")
        self._write("=================")
        self._write(f"RunId: {self.run.id}")
        self._write(f"Status: {row['status']}")
        if row["status"] != _status.COMPLETED and row["error"]:
            self._write(f"Error: {row['error']}")

    def tail(self) -> list[str]:
        return list(self._tail)
