"""Following a run: its stage changes and the new lines of its logs, as they come.

`Follower` is the one log printer: `Run.wait_for_completion(show_output=True)` (and so
`runyard submit`) prints a run through it with its stages, `runyard logs` with the log
lines alone.

Invariants:
- A run's logs are its `logs/*.txt` files, the supervisor's own (`logs/supervisor.txt`)
  left out unless asked for; the environment's build comes first (it happens first),
  then the others by name.
- A line is printed once, when it is complete; `finish()` prints the last, unterminated
  one of each log. Lines are labelled `[name] ` when several process logs are printed,
  and an environment build's always (it is not the script's output).
- Bytes are read from where the last read stopped, so following a long run costs what
  it prints, not what it logged before.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, TextIO

from runyard import _status

if TYPE_CHECKING:
    from runyard.run import Run

TAIL_LINES = 20
ENVIRONMENT_LOG = "logs/environment.txt"
SUPERVISOR_LOG = "logs/supervisor.txt"
# Which logs belong before a stage line, when one step sees several stages at once: the
# environment's build comes before whatever follows [Preparing], the processes' lines
# before whatever follows [Running].
_AFTER_PREPARING = frozenset({_status.QUEUED, _status.SCALING, _status.STARTING,
                              _status.RUNNING})


class Follower:
    """Each `step()` reads the run once and writes what is new to `out` (if any).

    `stages`: write the run id, each stage change (`[Running]`) and, at `finish()`, the
    execution summary; without, only log lines. `logs`: write the log lines (they are
    kept for `tail()` either way). `include_supervisor`: the supervisor's log too.
    """

    def __init__(self, run: Run, out: TextIO | None, *, logs: bool = True,
                 stages: bool = True, include_supervisor: bool = False) -> None:
        self.run = run
        self.out = out
        self.logs = logs
        self.stages = stages
        self.include_supervisor = include_supervisor
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
        """Read the run's row (first: logs read after it shows an end are whole), then
        write the new stages and log lines; returns the row."""
        run = self.run
        row = run._fetch()
        if self.stages:
            self._write_stages()
        self._read_logs()
        return row

    def _write_stages(self) -> None:
        run = self.run
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

    def _log_names(self) -> list[str]:
        names = [n for n in self.run._log_names() if n.endswith(".txt")
                 and (self.include_supervisor or n != SUPERVISOR_LOG)]
        return sorted(names, key=lambda n: (n != ENVIRONMENT_LOG, n))

    def _labelled(self, names: list[str]) -> set[str]:
        processes = [n for n in names if n != ENVIRONMENT_LOG]
        return {ENVIRONMENT_LOG, *(processes if len(processes) > 1 else ())}

    def _line(self, name: str, raw: bytes, labelled: set[str]) -> None:
        line = raw.decode("utf-8", "replace")
        self._tail.append(line)
        if self.logs:
            label = name.removeprefix("logs/").removesuffix(".txt")
            self._write(f"[{label}] {line}" if name in labelled else line)

    def _read_logs(self, only: str | None = None) -> None:
        names = self._log_names()
        labelled = self._labelled(names)
        for name in names:
            if only is not None and name != only:
                continue
            data = self.run.read_log(name, self._offsets.get(name, 0))
            if not data:
                continue
            self._offsets[name] = self._offsets.get(name, 0) + len(data)
            lines = (self._partial.pop(name, b"") + data).split(b"\n")
            if lines[-1]:
                self._partial[name] = lines[-1]
            for raw in lines[:-1]:
                self._line(name, raw, labelled)

    def finish(self) -> None:
        """The rest of every log, its last unterminated line included; with `stages`,
        the execution summary."""
        self._read_logs()
        labelled = self._labelled(self._log_names())
        for name, rest in sorted(self._partial.items(),
                                 key=lambda item: (item[0] != ENVIRONMENT_LOG, item[0])):
            self._line(name, rest, labelled)
        self._partial.clear()
        if not self.stages:
            return
        row = self.run._fetch()
        self._write("")
        self._write("Execution Summary")
        self._write("=================")
        self._write(f"RunId: {self.run.id}")
        self._write(f"Status: {row['status']}")
        if row["status"] != _status.COMPLETED and row["error"]:
            self._write(f"Error: {row['error']}")

    @property
    def read_anything(self) -> bool:
        """Whether any log had bytes to read."""
        return bool(self._offsets)

    def tail(self) -> list[str]:
        return list(self._tail)
