"""`Run.get_context()` inside a training script: a live run or an offline one.

Standard library only: importing this never loads SQLAlchemy, fsspec, rich or anything
else heavy, and it never touches the run history directly.

Invariants:
- `log` validates and appends a tuple to an in-memory deque: no I/O, no lock, no wait.
- A background thread flushes the deques to the process's channel file every
  `RUNYARD_FLUSH_INTERVAL` seconds (default 0.1); `flush()`, normal exit, an unhandled
  exception and SIGTERM (where the script has not set its own handler) flush too. On
  SIGKILL, what was logged since the last flush (at most one interval) is lost.
- A forked child starts with empty buffers and its own flusher, so nothing is sent twice
  and what the child logs arrives too (a child that leaves through `os._exit`, as
  multiprocessing workers do, loses what it logged in its last interval unless it calls
  `flush()`).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from runyard._validation import artifact_path, checked_name
from runyard.errors import (
    InvalidMetricError,
    PropertyImmutableError,
    RunIdInUseError,
    RunyardError,
)
from runyard.runtime import _values, _wire

_time = time.time
_INT64_MIN, _INT64_MAX = _values.INT64_MIN, _values.INT64_MAX


def _scalar(name: object, value: object) -> float | int | str:
    """`value` as a plain int, float or str for the metric `name`, or InvalidMetricError."""
    return _values.scalar(_values.metric_name(name), value)


def _plain_list(name: str, values: Iterable[Any]) -> list[Any]:
    name = _values.metric_name(name)
    return [_values.scalar(name, v) for v in values]


V1_TABLE_KIND = "v1table"
V1_SCHEMAS = {"accuracy_table": "1.0.1", "confusion_matrix": "1.0.0", "predictions": "1.0.0",
              "residuals": "1.0.0"}


def v1_table(schema: str, name: object, value: Any) -> dict[str, Any]:
    """v1's JSON metric (`log_confusion_matrix`, ...) checked: a dict, or its JSON text,
    shaped `{"schema_type": ..., "schema_version": ..., "data": {...}}`; a value without
    schema_type or schema_version gets v1's."""
    name = _values.metric_name(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as e:
            raise InvalidMetricError(f"metric {name!r}: {schema} is not valid JSON: {e}",
                                     name=name) from None
    if not isinstance(value, Mapping) or not isinstance(value.get("data"), Mapping):
        raise InvalidMetricError(
            f"metric {name!r}: a {schema} is a dict shaped like v1's, {{'schema_type': "
            f"{schema!r}, 'schema_version': {V1_SCHEMAS[schema]!r}, 'data': {{...}}}}; got "
            f"{type(value).__name__}" + ("" if not isinstance(value, Mapping) else
                                         " without a 'data' dict"), name=name)
    given = value.get("schema_type", schema)
    if given != schema:
        raise InvalidMetricError(f"metric {name!r}: schema_type {given!r} logged as a "
                                 f"{schema}; use the log_ method for {given!r}", name=name)
    plain = _plain_json(name, value, depth=0)
    return {"schema_type": schema, "schema_version": V1_SCHEMAS[schema], **plain}


def _plain_json(name: str, value: Any, depth: int) -> Any:
    """`value` with numpy arrays and scalars (sklearn's confusion_matrix, ...) made plain:
    dicts, lists, str, int, float, bool, None; anything else refused naming it."""
    if depth > 16:
        raise InvalidMetricError(f"metric {name!r}: the value is nested deeper than 16 "
                                 f"levels", name=name)
    if value is None or type(value) in (bool, str, int, float):
        return _values.scalar(name, value) if type(value) in (str, int) else value
    if isinstance(value, Mapping):
        return {str(k): _plain_json(name, v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(name, v, depth + 1) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy arrays, torch and TF tensors
    dimensions: object = getattr(value, "ndim", None)
    if callable(tolist) and dimensions:
        return _plain_json(name, tolist(), depth + 1)
    return _values.scalar(name, value)


def children_tags(count: int | None, tag_key: str | None,
                  tag_values: Iterable[Any] | None) -> list[dict[str, str]]:
    """The tags of each child `create_children` makes (v1's rules and limit of 100)."""
    if count is None and tag_key is None and tag_values is None:
        raise RunyardError("create_children needs count=, or tag_key= and tag_values=")
    if count is not None:
        if tag_key is not None or tag_values is not None:
            raise RunyardError("create_children takes count= or tag_key= and tag_values=, "
                               "not both")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= 100:
            raise RunyardError(f"create_children count must be 1 to 100, got {count!r}")
        return [{"azureml.batch_child_number": str(i)} for i in range(count)]
    if tag_key is None or tag_values is None:
        raise RunyardError("create_children needs both tag_key= and tag_values=")
    values = list(tag_values)
    if not 0 < len(values) <= 100:
        raise RunyardError(f"create_children makes 1 to 100 runs, got {len(values)} tag "
                           f"values")
    return [{str(tag_key): str(v)} for v in values]


def input_datasets() -> dict[str, str]:
    """The named inputs of this process's run (datasets and data references), name →
    the local path the supervisor made for it."""
    prefix = "RUNYARD_DATAREFERENCE_"
    return {key[len(prefix):]: value for key, value in sorted(os.environ.items())
            if key.startswith(prefix)}


class _Channel:
    """The process's pipe to its supervisor: deques in memory, frames in a file."""

    def __init__(self, path: str, interval: float) -> None:
        self.path = path
        self.interval = interval
        self.runs: list[RuntimeRun] = []
        self._write_lock = threading.Lock()
        self._fd: int | None = None
        self._identity = (0, 0)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        os.register_at_fork(after_in_child=self._after_fork)
        atexit.register(self.flush)
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and \
                threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_sigterm)

    def register(self, run: RuntimeRun) -> None:
        self.runs.append(run)

    def run_ids(self) -> set[str]:
        return {run.id for run in self.runs}

    def confirm(self, child_id: str) -> None:
        """Wait for the supervisor's word on the child run `child_id`: created, or why not
        (a file `replies/<child_id>` beside the channel file)."""
        reply = os.path.join(os.path.dirname(self.path), "replies", child_id)
        limit = float(os.environ.get("RUNYARD_CHILD_RUN_TIMEOUT", "60"))
        deadline = time.monotonic() + limit
        pause = 0.002
        while not os.path.exists(reply):
            if time.monotonic() > deadline:
                raise RunyardError(f"the run's supervisor did not create child run "
                                   f"{child_id!r} within {limit:g} s (is it still running?)")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        with open(reply, encoding="utf-8") as handle:
            refusal = handle.read()
        if refusal:
            raise RunIdInUseError(refusal, run_id=child_id)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="runyard-flush",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            self.flush()

    def flush(self) -> None:
        with self._write_lock:
            for run in self.runs:
                buffered = run._records
                count = len(buffered)
                while count:
                    take = min(count, 50_000)
                    records = [buffered.popleft() for _ in range(take)]
                    count -= take
                    for frame in _wire.encode(run.id, records):
                        self._write(frame)

    def _open(self) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        stat = os.fstat(fd)
        self._identity = (stat.st_dev, stat.st_ino)
        return fd

    def _channel_fd(self) -> int:
        """The descriptor of the channel file, reopened if the script closed ours (a
        script may close every descriptor and open its own files under the same
        numbers: frames must never land in them)."""
        fd = self._fd
        if fd is not None:
            try:
                stat = os.fstat(fd)
                if (stat.st_dev, stat.st_ino) == self._identity:
                    return fd
            except OSError:
                pass  # closed under us: the number is not ours any more
        self._fd = self._open()
        return self._fd

    def _write(self, frame: bytes) -> None:
        fd = self._channel_fd()
        view = memoryview(frame)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def _after_fork(self) -> None:
        # the parent's records are the parent's to send; the flusher thread did not fork
        self._write_lock = threading.Lock()
        self._thread = None
        self._pid = os.getpid()
        for run in self.runs:
            run._records.clear()
        if self.runs:
            self.start()

    def _on_sigterm(self, signum: int, _frame: Any) -> None:
        self.flush()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


class _ExperimentRef:
    """What a script can ask of its run's experiment without the client library."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"

    @property
    def workspace(self) -> Any:
        """The run's workspace, found from the working directory (needs runyard's own
        dependencies in the run's environment, as a local run in runyard's has)."""
        try:
            from runyard.workspace import Workspace
        except ImportError as e:
            raise RunyardError(f"run.experiment.workspace needs runyard installed in the "
                               f"run's environment ({e}); add 'runyard' to its pip "
                               f"packages, or pass paths as arguments instead") from e
        return Workspace.from_config()


class RuntimeRun:
    """The live run a submitted script logs to."""

    def __init__(self, run_id: str, channel: _Channel, *, staging: str,
                 experiment: str, parent: RuntimeRun | None = None,
                 display_name: str | None = None) -> None:
        self.id = run_id
        self.display_name = display_name
        self.experiment = _ExperimentRef(experiment)
        self.parent = parent
        self._channel = channel
        self._staging = staging
        self._records: deque[tuple[Any, ...]] = deque()
        self._append = self._records.append
        self._properties: dict[str, str] = {}
        self._names: set[str] = set()  # metric names already checked
        self._children: set[str] = set()
        channel.register(self)
        channel.start()

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, experiment={self.experiment.name!r})"

    @property
    def name(self) -> str | None:
        return self.display_name

    @property
    def input_datasets(self) -> dict[str, str]:
        """Named inputs (`dataset.as_named_input("train")`, data references): name → the
        local path made for this run."""
        return input_datasets()

    # -- metrics --------------------------------------------------------------------------
    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a number or string under `name` (microseconds: appended, sent later).

        What cannot be stored is refused here, with InvalidMetricError (a ValueError)
        naming the metric and the value; nothing about it reaches the supervisor."""
        if type(name) is not str or name not in self._names:
            name = self._checked_name(name)
        kind = type(value)
        if kind is float:
            pass
        elif kind is int:
            if not _INT64_MIN <= value <= _INT64_MAX:
                value = _values.scalar(name, value)
        elif kind is not str or "\x00" in value or not value.isascii():
            value = _values.scalar(name, value)
        if step is not None and (type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX):
            step = _values.step(name, step)
        self._append((name, value, step, _time()))

    def _checked_name(self, name: object) -> str:
        checked = _values.metric_name(name)
        if len(self._names) < 100_000:
            self._names.add(checked)
        return checked

    def _log_json(self, kind: str, name: str, value: Any, step: int | None = None) -> None:
        name = self._checked_name(name)
        if step is not None:
            step = _values.step(name, step)
        try:
            text = json.dumps(value)
        except (TypeError, ValueError) as e:
            raise InvalidMetricError(f"metric {name!r}: {kind} cannot be stored: {e}",
                                     name=name) from None
        problem = _values.text_problem(text)
        if problem:
            raise InvalidMetricError(f"metric {name!r}: {kind} {problem}", name=name)
        self._append((_wire.METRIC, kind, name, text, step, _time()))

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        """Log a list of numbers or strings as one value."""
        if isinstance(value, str | bytes | Mapping):
            raise InvalidMetricError(f"log_list {name!r}: value must be a list, got "
                                     f"{type(value).__name__}", name=name)
        self._log_json("list", name, _plain_list(name, value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log one row of a table: `log_row("loss curve", epoch=1, loss=0.3)`."""
        self._log_json("row", name, {k: _scalar(name, v) for k, v in kwargs.items()})

    def log_table(self, name: str, value: Mapping[str, Iterable[Any]],
                  description: str = "") -> None:
        """Log a table given as columns: `{"epoch": [1, 2], "loss": [0.5, 0.3]}`."""
        if not isinstance(value, Mapping):
            raise InvalidMetricError(f"log_table {name!r}: value must be a dict of columns, "
                                     f"got {type(value).__name__}", name=name)
        self._log_json("table", name, {k: _plain_list(name, v) for k, v in value.items()})

    def log_image(self, name: str, path: str | os.PathLike[str] | None = None,
                  plot: Any = None, description: str = "") -> None:
        """Log an image file, or a matplotlib figure / pyplot module given as `plot`."""
        if (path is None) == (plot is None):
            raise InvalidMetricError(f"log_image {name!r}: give exactly one of path or plot",
                                     name=name)
        staged = self._stage_path()
        if plot is not None:
            plot.savefig(staged, format="png")
            suffix = ".png"
        else:
            if not os.path.isfile(path):  # type: ignore[arg-type]
                raise FileNotFoundError(f"log_image {name!r}: no file at {path}")
            shutil.copyfile(path, staged)  # type: ignore[arg-type]
            suffix = Path(path).suffix or ".png"  # type: ignore[arg-type]
        target = artifact_path(f"images/{name}{suffix}", what="image name")
        self._append((_wire.FILE, target, staged))
        self._log_json("image", name, target)

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        """v1's accuracy table (a dict or its JSON text, schema_type "accuracy_table")."""
        self._log_json(V1_TABLE_KIND, name, v1_table("accuracy_table", name, value))

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        """v1's confusion matrix (schema_type "confusion_matrix")."""
        self._log_json(V1_TABLE_KIND, name, v1_table("confusion_matrix", name, value))

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        """v1's binned predictions (schema_type "predictions")."""
        self._log_json(V1_TABLE_KIND, name, v1_table("predictions", name, value))

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        """v1's residuals histogram (schema_type "residuals")."""
        self._log_json(V1_TABLE_KIND, name, v1_table("residuals", name, value))

    # -- tags, properties, files ----------------------------------------------------------
    def tag(self, key: str, value: str | None = None) -> None:
        self._append((_wire.TAGS, _values.mapping({key: value}, what="tag")))

    def set_tags(self, tags: Mapping[str, Any] | Iterable[str] | str) -> None:
        if isinstance(tags, str):
            tags = {tags: None}
        elif not isinstance(tags, Mapping):
            tags = dict.fromkeys(tags)
        self._append((_wire.TAGS, _values.mapping(tags, what="tag")))

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        clean = {k: "" if v is None else v
                 for k, v in _values.mapping(properties, what="property").items()}
        for key, value in clean.items():
            if self._properties.get(key, value) != value:
                raise PropertyImmutableError(
                    f"property {key!r} is already {self._properties[key]!r}; properties "
                    f"cannot change (use a tag)", key=key)
        self._properties.update(clean)
        self._append((_wire.PROPERTIES, clean))

    def _stage_path(self) -> str:
        os.makedirs(self._staging, exist_ok=True)
        return os.path.join(self._staging, uuid.uuid4().hex)

    def upload_file(self, name: str, path_or_stream: str | os.PathLike[str] | BinaryIO) -> None:
        """Copy a file (or readable binary stream) into the run's files under `name`."""
        target = artifact_path(name, what="file name")
        staged = self._stage_path()
        if isinstance(path_or_stream, str | os.PathLike):
            shutil.copyfile(path_or_stream, staged)
        else:
            with open(staged, "wb") as out:
                shutil.copyfileobj(path_or_stream, out)
        self._append((_wire.FILE, target, staged))

    def upload_files(self, names: list[str], paths: list[str | os.PathLike[str]],
                     return_artifacts: bool = False, timeout_seconds: int | None = None,
                     datastore_name: str | None = None) -> None:
        """Upload `paths[i]` as the run file `names[i]`; every name and path is checked
        before any is sent."""
        if len(names) != len(paths):
            raise RunyardError(f"upload_files got {len(names)} names and {len(paths)} "
                               f"paths; give one name per path")
        for name in names:
            artifact_path(name, what="file name")
        missing = [str(p) for p in paths if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"upload_files: no file at {', '.join(missing[:5])}")
        for name, path in zip(names, paths, strict=True):
            self.upload_file(name, path)

    def upload_folder(self, name: str, path: str | os.PathLike[str]) -> None:
        """Upload every file below `path` under `name/`, following the links that stay
        inside it (the rule of outputs and snapshots, docs/files.md)."""
        from runyard.artifacts._walk import walk

        walked = walk(path, label=str(path))
        for warning in walked.warnings:
            print(f"runyard upload_folder: {warning}", file=sys.stderr, flush=True)
        for file in walked.files:
            self.upload_file(f"{name}/{file.name}", file.path)

    # -- lifecycle ------------------------------------------------------------------------
    def flush(self) -> None:
        """Send everything logged so far to the supervisor now."""
        self._channel.flush()

    def get_secret(self, name: str) -> str:
        """The secret `name` from this process's environment (runyard._secrets)."""
        from runyard._secrets import get_secret

        return get_secret(name)

    def get_secrets(self, secrets: list[str]) -> dict[str, str | None]:
        from runyard._secrets import get_secrets

        return get_secrets(secrets)

    def child_run(self, name: str | None = None, run_id: str | None = None,
                  outputs: str | None = None) -> RuntimeRun:
        """A child run of this one, Running until `complete()` / `fail()`.

        The supervisor creates it before this returns; an id that is taken, or not a valid
        name, raises here (InvalidNameError, RunIdInUseError)."""
        return self._make_children([(run_id, name, {})])[0]

    def create_children(self, count: int | None = None, tag_key: str | None = None,
                        tag_values: Iterable[Any] | None = None) -> list[RuntimeRun]:
        """`count` child runs tagged `azureml.batch_child_number` 0, 1, ..., or one per
        value of `tag_values` tagged `tag_key` (v1; at most 100), all Running; the
        supervisor creates them all before this returns."""
        return self._make_children([(None, None, tags) for tags in
                               children_tags(count, tag_key, tag_values)])

    def _make_children(self, wanted: list[tuple[str | None, str | None, dict[str, str]]]
                  ) -> list[RuntimeRun]:
        taken = self._channel.run_ids()
        chosen = []
        for run_id, name, tags in wanted:
            child_id = f"{self.id}_{uuid.uuid4().hex[:8]}" if run_id is None else \
                checked_name(run_id, what="child run id", allowed="-_.", first_alnum=True)
            if child_id in taken:
                raise RunIdInUseError(f"child run id {child_id!r} is already used by a run "
                                      f"of this script; give another run_id (or none)",
                                      run_id=child_id)
            taken.add(child_id)
            display = None if name is None else _values.text(name, what="child run name",
                                                              limit=_values.NAME_LIMIT)
            chosen.append((child_id, display, tags))
        for child_id, display, _tags in chosen:
            self._append((_wire.CHILD, child_id, display))
        self._channel.flush()  # the children must exist before their records arrive
        for child_id, _display, _tags in chosen:
            self._channel.confirm(child_id)
        children = []
        for child_id, display, tags in chosen:
            child = RuntimeRun(child_id, self._channel, staging=self._staging,
                               experiment=self.experiment.name, parent=self,
                               display_name=display)
            if tags:
                child.set_tags(tags)
            children.append(child)
        return children

    def complete(self) -> None:
        if self.parent is not None:
            self._append((_wire.CHILD_END, self.id, "Completed", None))
            self._channel.flush()

    def fail(self, error_details: Any = None) -> None:
        if self.parent is not None:
            self._append((_wire.CHILD_END, self.id, "Failed", str(error_details or "")))
            self._channel.flush()

    def __enter__(self) -> RuntimeRun:
        return self

    def __exit__(self, kind: Any, error: Any, _tb: Any) -> None:
        self.fail(error) if kind is not None else self.complete()


class OfflineRun:
    """What `Run.get_context()` gives a script started by hand: it prints what it is told."""

    def __init__(self) -> None:
        self.id = f"OfflineRun_{uuid.uuid4()}"
        self.experiment = _ExperimentRef("offline")
        self.parent = None
        self._metrics: dict[str, list[Any]] = {}
        self._tags: dict[str, str | None] = {}
        self._properties: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"OfflineRun(id={self.id!r})"

    def _say(self, what: str, name: str, value: Any) -> None:
        print(f"Attempted to log {what} metric {name}:\n{value}", flush=True)
        self._metrics.setdefault(name, []).append(value)

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        self._say("scalar", name, _scalar(name, value))

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        self._say("list", name, _plain_list(name, value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._say("row", name, {k: _scalar(name, v) for k, v in kwargs.items()})

    def log_table(self, name: str, value: Mapping[str, Iterable[Any]],
                  description: str = "") -> None:
        self._say("table", name, {k: _plain_list(name, v) for k, v in value.items()})

    def log_image(self, name: str, path: str | os.PathLike[str] | None = None,
                  plot: Any = None, description: str = "") -> None:
        self._say("image", name, path if path is not None else "<plot>")

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        self._say("accuracy_table", name, v1_table("accuracy_table", name, value))

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self._say("confusion_matrix", name, v1_table("confusion_matrix", name, value))

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        self._say("predictions", name, v1_table("predictions", name, value))

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        self._say("residuals", name, v1_table("residuals", name, value))

    @property
    def input_datasets(self) -> dict[str, str]:
        return input_datasets()

    @property
    def name(self) -> str | None:
        return None

    display_name = name

    def tag(self, key: str, value: str | None = None) -> None:
        self._tags[key] = value

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._tags.update({k: None if v is None else str(v) for k, v in tags.items()})

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        self._properties.update({k: str(v) for k, v in properties.items()})

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        shaped = {k: v[0] if len(v) == 1 else list(v) for k, v in self._metrics.items()}
        return {name: shaped[name]} if name is not None and name in shaped else (
            {} if name is not None else shaped)

    def get_tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    def upload_file(self, name: str, path_or_stream: Any) -> None:
        artifact_path(name, what="file name")
        print(f"Attempted to upload {name} (offline run: nothing is stored)", flush=True)

    def upload_files(self, names: list[str], paths: list[Any], **kwargs: Any) -> None:
        for name in names:
            self.upload_file(name, None)

    def upload_folder(self, name: str, path: str | os.PathLike[str]) -> None:
        artifact_path(name, what="folder name")
        print(f"Attempted to upload folder {name} (offline run: nothing is stored)", flush=True)

    def flush(self) -> None:
        sys.stdout.flush()

    def get_secret(self, name: str) -> str:
        """The secret `name` from this process's environment (runyard._secrets)."""
        from runyard._secrets import get_secret

        return get_secret(name)

    def get_secrets(self, secrets: list[str]) -> dict[str, str | None]:
        from runyard._secrets import get_secrets

        return get_secrets(secrets)

    def child_run(self, name: str | None = None, run_id: str | None = None,
                  outputs: str | None = None) -> OfflineRun:
        return OfflineRun()

    def create_children(self, count: int | None = None, tag_key: str | None = None,
                        tag_values: Iterable[Any] | None = None) -> list[OfflineRun]:
        return [OfflineRun() for _ in children_tags(count, tag_key, tag_values)]

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    def complete(self) -> None:
        pass

    def fail(self, error_details: Any = None) -> None:
        pass


_context: RuntimeRun | OfflineRun | None = None
_context_lock = threading.Lock()


def get_context(allow_offline: bool = True) -> RuntimeRun | OfflineRun:
    """The run this process belongs to: live when submitted, offline otherwise."""
    global _context
    with _context_lock:
        if _context is not None:
            return _context
        run_id = os.environ.get("RUNYARD_RUN_ID")
        channel_path = os.environ.get("RUNYARD_CHANNEL")
        if run_id and channel_path:
            channel = _Channel(channel_path,
                               float(os.environ.get("RUNYARD_FLUSH_INTERVAL", "0.1")))
            _context = RuntimeRun(
                run_id, channel,
                staging=os.environ.get("RUNYARD_STAGING") or os.path.join(
                    os.path.dirname(channel_path), "staged"),
                experiment=os.environ.get("RUNYARD_EXPERIMENT", ""),
            )
        elif allow_offline:
            _context = OfflineRun()
        else:
            raise RunyardError("this process is not part of a submitted run "
                               "(RUNYARD_RUN_ID is not set) and allow_offline is False")
        return _context
