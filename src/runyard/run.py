"""Run: the client's view of a run (status, metrics, files, logs, children).

`Run.get_context()` is the exception: it returns the runtime object a training script logs
to, and loads nothing but the standard library. Everything else imports the store lazily.

Invariant: readers never leave a dead run active. A run whose supervisor process is gone
(same host) or silent for `STALE_SECONDS` (any host; `runyard._liveness`, beside the
heartbeat's period) is marked Failed with the reason by whoever reads it next; the
compare-and-set write cannot overwrite an end state.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from runyard import _status, _validation
from runyard._liveness import STALE_SECONDS as STALE_SECONDS  # its old home
from runyard._liveness import is_stale, silent_seconds
from runyard._local import read_tail
from runyard._procfs import is_supervisor_of, supervisors_of
from runyard._v1 import v1_members
from runyard.errors import (
    ArtifactNotFoundError,
    FileExistsNoOverwriteError,
    InvalidMetricError,
    RunFailedError,
    RunyardError,
    ValidationError,
)

if TYPE_CHECKING:
    from runyard.experiment import Experiment
    from runyard.models import Model
    from runyard.runtime import OfflineRun, RuntimeRun
    from runyard.workspace import Workspace

POLL_SECONDS = 0.2
UI_DEFAULT_PORT = 8765  # `runyard ui`'s default (runyard.ui.server.DEFAULT_PORT)
DESCRIPTION_TAG = "mlflow.note.content"
RUN_TYPES = {"script": "azureml.scriptrun", "sweep": "hyperdrive", "hyperdrive": "hyperdrive"}
#: the kinds of run a supervisor process drives (the others: the client that made them)
SUPERVISED_KINDS = frozenset({"script", "sweep"})
V1_TABLE_KIND = "v1table"  # = runtime._run.V1_TABLE_KIND
"""The metric kind of v1's JSON metrics (accuracy table, confusion matrix, predictions,
residuals): the value is v1's dict, `{"schema_type": ..., "schema_version": ...,
"data": {...}}`, and `get_metrics()` gives it back as it was logged."""


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _supervisor_pending(workspace: Workspace, row: dict[str, Any]) -> bool:
    """Whether the run's compute still holds the start of its supervisor (ComputeTarget.
    supervisor_pending); a compute that cannot tell says no."""
    from runyard.compute import get_compute_target

    try:
        return get_compute_target(workspace, row["compute_target"]).supervisor_pending(
            row["id"])
    except Exception:  # noqa: BLE001 - then the rule is the plain one
        return False


def reconcile(workspace: Workspace, row: dict[str, Any]) -> dict[str, Any]:
    """Mark `row`'s run Failed if it is active but its supervisor is gone; return the row."""
    status = row["status"]
    if status in _status.TERMINAL or (row["config"] or {}).get("kind") not in SUPERVISED_KINDS:
        return row
    now = time.time()
    reason = None
    pid = row["supervisor_pid"]
    if pid is None:
        if is_stale(now - row["created_at"]) and not _supervisor_pending(workspace, row):
            reason = f"its supervisor never started (submitted {now - row['created_at']:.0f} s ago)"
            crash = read_tail(workspace.run_dir(row["id"]) / "supervisor.log", 2000).strip()
            if crash:
                reason += f"; it said: {crash}"
    elif row["supervisor_host"] == socket.gethostname():
        # a dead supervisor's keeper ends the run itself within seconds, saying how it died
        if not is_supervisor_of(pid, row["id"]) and not supervisors_of(row["id"]):
            reason = f"its supervisor (pid {pid}) died while the run was {status}"
    elif is_stale(silent := silent_seconds(row, now)):
        reason = (f"its supervisor (pid {pid} on {row['supervisor_host']}) sent no heartbeat "
                  f"for {silent:.0f} s")
    if reason is None:
        return row
    store = workspace.store
    store.set_status(row["id"], _status.FAILED, error=f"run failed: {reason}", only_if=[status])
    return store.get_run(row["id"])


@v1_members("azureml.core.run.Run")
class Run:
    """A run of an experiment, as stored in the run history.

    Example:
        >>> run = exp.submit(config)                         # doctest: +SKIP
        >>> run.wait_for_completion(show_output=True)        # doctest: +SKIP
        >>> run.get_metrics()["accuracy"]                    # doctest: +SKIP
    """

    # v1's class constants (its portal links and log identities), kept for code that reads them
    DELIM = "#"
    EXPERIMENT_ID_PATH = "/experiments/id/{0}"
    EXPERIMENT_NAME_PATH = "/experiments/{0}"
    RUN_PATH = "/runs/{0}"
    RUN_TYPE = "azureml.scriptrun"  # v1's ScriptRun.RUN_TYPE (ScriptRun is Run here)
    TID_FMT = "&tid={0}"
    WORKSPACE_FMT = "?wsid=/subscriptions/{0}/resourcegroups/{1}/workspaces/{2}"

    def __new__(cls, experiment: Experiment | None = None, run_id: str | None = None,
                *args: Any, **azure_arguments: Any) -> Run:  # noqa: ARG004
        # v1 rehydrates a run by its type: a sweep's parent is a HyperDriveRun
        if cls is Run and experiment is not None and isinstance(run_id, str):
            from runyard.hyperdrive.run import run_class_of

            cls = run_class_of(experiment.workspace, run_id, cls)
        return super().__new__(cls)

    def __init__(self, experiment: Experiment, run_id: str, **azure_arguments: Any) -> None:
        self.experiment = experiment
        self.id = run_id
        self._row: dict[str, Any] | None = None

    @property
    def identity(self) -> str:
        """v1's log identity: "Run#<run id>"."""
        return f"Run{self.DELIM}{self.id}"

    # -- secrets: environment variables, not Key Vault --------------------------------------
    def get_secret(self, name: str) -> str:
        """The secret `name` from the environment (`name`, else NAME with '-' as '_'): runyard
        has no Key Vault, so a run gets its secrets as environment variables
        (RunConfiguration.environment_variables). Unset: ValidationError naming them."""
        from runyard._secrets import get_secret

        return get_secret(name)

    def get_secrets(self, secrets: builtins.list[str]) -> dict[str, str | None]:
        """{name: value} for each secret, None for those not set (v1's not-found)."""
        from runyard._secrets import get_secrets

        return get_secrets(secrets)

    # -- inside a training script -------------------------------------------------------
    @classmethod
    def get_context(cls, allow_offline: bool = True, **kwargs: Any) -> RuntimeRun | OfflineRun:
        """The run this process is part of (live when submitted, offline otherwise)."""
        from runyard.runtime import get_context

        return get_context(allow_offline=allow_offline)

    @classmethod
    def get_submitted_run(cls, **kwargs: Any) -> RuntimeRun | OfflineRun:
        """v1's deprecated `get_context(allow_offline=False)`."""
        return cls.get_context(allow_offline=False)

    # -- finding runs -------------------------------------------------------------------
    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        from runyard.experiment import Experiment

        row = workspace.store.get_run(run_id)
        run = cls(Experiment(workspace, row["experiment"]), run_id)
        run._row = row
        return run

    @classmethod
    def list(cls, experiment: Experiment, type: str | None = None,
             tags: Mapping[str, str | None] | str | None = None,
             properties: Mapping[str, str] | None = None, status: str | None = None,
             include_children: bool = False, **kwargs: Any) -> Iterator[Run]:
        """Runs of `experiment`, newest first (top-level only unless include_children)."""
        ws = experiment.workspace
        tag_filter = {tags: None} if isinstance(tags, str) else tags
        for row in ws.store.list_runs(experiment=experiment.name, status=status,
                                      tags=tag_filter):
            if row["parent_id"] is not None and not include_children:
                continue
            if properties:
                found = ws.store.get_properties(row["id"])
                if any(found.get(k) != v for k, v in properties.items()):
                    continue
            run = cls(experiment, row["id"])
            run._row = reconcile(ws, row)
            if type is not None and run.type != type:
                continue
            yield run

    @staticmethod
    def list_by_compute(compute: Any, type: str | None = None,
                        tags: Mapping[str, str | None] | str | None = None,
                        properties: Mapping[str, str] | None = None,
                        status: str | None = None) -> Iterator[Run]:
        """Runs of every experiment on the compute target `compute`, newest first."""
        from runyard.experiment import Experiment

        ws = compute.workspace
        tag_filter = {tags: None} if isinstance(tags, str) else tags
        experiments: dict[str, Experiment] = {}
        for row in ws.store.list_runs(status=status, tags=tag_filter):
            if row["compute_target"] != compute.name:
                continue
            experiment = experiments.get(row["experiment"])
            if experiment is None:
                experiment = experiments[row["experiment"]] = Experiment(ws, row["experiment"])
            run = Run(experiment, row["id"])
            run._row = reconcile(ws, row)
            if _matches(run, row, None, properties, type, None):
                yield run

    # -- the stored view ----------------------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        return self.experiment.workspace

    def _fetch(self) -> dict[str, Any]:
        self._row = reconcile(self.workspace, self.workspace.store.get_run(self.id))
        return self._row

    @property
    def _cached(self) -> dict[str, Any]:
        return self._row if self._row is not None else self._fetch()

    @property
    def number(self) -> int:
        return int(self._cached["number"])

    @property
    def display_name(self) -> str | None:
        name = self._cached["display_name"]
        return None if name is None else str(name)

    @display_name.setter
    def display_name(self, value: str | None) -> None:
        from runyard.runtime import _values

        clean = None if value is None else _values.text(value, what="display_name",
                                                         limit=_values.NAME_LIMIT)
        self.workspace.store.set_display_name(self.id, clean)
        self._row = None

    @property
    def name(self) -> str | None:
        """v1's run name: the display name."""
        return self.display_name

    @name.setter
    def name(self, value: str | None) -> None:
        self.display_name = value

    @property
    def description(self) -> str | None:
        """The run's description, kept as the tag `mlflow.note.content` (MLflow's)."""
        return self.get_tags().get(DESCRIPTION_TAG)

    @description.setter
    def description(self, value: str | None) -> None:
        if value is None:
            self.remove_tags([DESCRIPTION_TAG])
        else:
            self.tag(DESCRIPTION_TAG, str(value))

    @property
    def type(self) -> str | None:
        """v1's run type: "azureml.scriptrun" for a submitted script, "hyperdrive" for a
        sweep, None for an interactive or child run."""
        return RUN_TYPES.get(str((self._cached["config"] or {}).get("kind")))

    @property
    def parent(self) -> Run | None:
        parent_id = self._cached["parent_id"]
        return Run(self.experiment, parent_id) if parent_id else None

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def tags(self) -> dict[str, str | None]:
        return self.get_tags()

    @property
    def properties(self) -> dict[str, str | None]:
        return self.get_properties()

    def __repr__(self) -> str:
        return f"Run(experiment={self.experiment.name!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def get_status(self) -> str:
        return str(self._fetch()["status"])

    def get_details(self) -> dict[str, Any]:
        """Azure's run details, with each stage's start, end and duration."""
        row = self._fetch()
        events = self.workspace.store.status_events(self.id)
        stages = []
        for index, event in enumerate(events):
            end = events[index + 1]["time"] if index + 1 < len(events) else None
            stages.append({
                "status": event["status"], "startTimeUtc": _iso(event["time"]),
                "endTimeUtc": _iso(end),
                "durationSeconds": None if end is None else round(end - event["time"], 3),
                "detail": event["detail"],
            })
        details: dict[str, Any] = {
            "runId": self.id, "experiment": row["experiment"],
            "target": row["compute_target"], "status": row["status"],
            "submittedTimeUtc": _iso(row["created_at"]),
            "startTimeUtc": _iso(row["start_time"]), "endTimeUtc": _iso(row["end_time"]),
            "properties": self.get_properties(), "tags": self.get_tags(),
            "inputDatasets": [], "outputDatasets": [], "runDefinition": row["config"] or {},
            "logFiles": {name: name for name in self._log_names()}, "stages": stages,
        }
        warnings = self.workspace.store.get_warnings(self.id)
        if warnings:  # v1's shape: [{"source": ..., "message": ...}]
            details["warnings"] = [{"source": w["source"], "message": w["message"]}
                                   for w in warnings]
        if row["error"]:
            details["error"] = {"error": {"message": row["error"]}}
        return details

    def get_details_with_logs(self) -> dict[str, Any]:
        """`get_details()` with each log file's text under "logFiles" (v1)."""
        details = self.get_details()
        details["logFiles"] = {name: self.read_log(name).decode("utf-8", errors="replace")
                               for name in details["logFiles"]}
        return details

    def get_detailed_status(self) -> dict[str, Any]:
        """{"status": ..., "details": what the last stage said, or None} (v1)."""
        status = self.get_status()
        events = self.workspace.store.status_events(self.id)
        return {"status": status, "details": events[-1]["detail"] if events else None}

    @property
    def portal_url(self) -> str:
        return self.get_portal_url()

    def get_portal_url(self) -> str:
        """The address of the run's page in `runyard ui` (v1: its page in Azure studio)."""
        try:
            from runyard.ui.server import portal_url
        except ImportError:  # the UI's server module is not there yet: its default address
            return f"http://127.0.0.1:{UI_DEFAULT_PORT}/runs/{self.id}"
        return portal_url(self.workspace, self.id)

    def get_environment(self) -> Any:
        """The Environment the run used; for a run in the interpreter runyard runs in, a
        user-managed Environment naming that interpreter."""
        from runyard.environment import Environment

        config = self._cached["config"] or {}
        environment = config.get("environment")
        if environment:
            return Environment.from_dict(environment["definition"])
        if config.get("kind") != "script":
            raise RunyardError(f"run {self.id} is not a submitted script: it has no "
                               f"environment", run_id=self.id)
        env = Environment("runyard-default")
        env.python.user_managed_dependencies = True
        env.python.interpreter_path = config.get("interpreter")
        return env

    def get_snapshot_id(self) -> str | None:
        return self._cached["snapshot_id"]  # type: ignore[no-any-return]

    def restore_snapshot(self, snapshot_id: str | None = None,
                         path: str | os.PathLike[str] | None = None) -> str:
        """The run's snapshot (its source directory as submitted) as a ZIP file at `path`
        (a file name, or a folder for `<snapshot id>.zip`; default here); returns it."""
        import tempfile
        import zipfile

        from runyard._atomic import atomic_open
        from runyard.artifacts import snapshot

        chosen = snapshot_id or self.get_snapshot_id()
        if chosen is None:
            raise ArtifactNotFoundError(f"run {self.id} has no snapshot (an interactive run "
                                        f"started with snapshot_directory=None)",
                                        run_id=self.id)
        target = Path(path) if path is not None else Path.cwd()
        if target.is_dir():
            target = target / f"{chosen}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            snapshot.materialize(chosen, self.workspace.artifacts, Path(folder))
            with atomic_open(target, "wb") as handle, \
                    zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(Path(folder).rglob("*")):
                    if file.is_file():
                        archive.write(file, file.relative_to(folder).as_posix())
        return str(target)

    def get_tags(self) -> dict[str, str | None]:
        return self.workspace.store.get_tags(self.id)

    def remove_tags(self, tags: builtins.list[str] | str) -> None:
        """Remove tags by key (keys that are not there are ignored)."""
        keys = [tags] if isinstance(tags, str) else [str(k) for k in tags]
        self.workspace.store.remove_tags(self.id, keys)

    def get_properties(self) -> dict[str, str | None]:
        return self.workspace.store.get_properties(self.id)

    def get_hyperparameters(self) -> dict[str, Any]:
        """A sweep's child: the hyperparameters it ran with ({"--lr": 0.01, ...}, from its
        tag `hyperparameters`); {} for a run no sweep started."""
        from runyard.hyperdrive.run import hyperparameters_of

        return hyperparameters_of(self.get_tags())

    # -- metrics ------------------------------------------------------------------------
    def get_metrics(self, name: str | None = None, recursive: bool = False,
                    run_type: str | None = None, populate: bool = False) -> dict[str, Any]:
        """Metrics in Azure's shape: a scalar for one value, a list for several; rows and
        tables as dicts of columns. With recursive=True, {run_id: metrics} for this run and
        its descendants."""
        if recursive:
            result = {self.id: self.get_metrics(name)}
            for child in self.get_children(recursive=True):
                result[child.id] = child.get_metrics(name)
            return result
        return shape_metrics(self.workspace.store.get_metrics(self.id, name))

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log from the client (an interactive run, or after the fact)."""
        from runyard.runtime import _values

        name = _values.metric_name(name)
        value = _values.scalar(name, value)
        step = None if step is None else _values.step(name, step)
        text = value if isinstance(value, str) else None
        number = None if isinstance(value, str) else float(value)
        from runyard.store.base import MetricRow

        self.workspace.store.insert_metrics([MetricRow(
            self.id, name, "s", step, number, text, time=time.time(), rank=0)])

    def _log_json(self, kind: str, name: str, value: Any) -> None:
        from runyard.store.base import MetricRow

        self.workspace.store.insert_metrics([MetricRow(
            self.id, name, kind, None, None, json.dumps(value), time=time.time(), rank=0)])

    def log_list(self, name: str, value: builtins.list[Any], description: str = "") -> None:
        from runyard.runtime._run import _plain_list

        self._log_json("list", name, _plain_list(name, value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        from runyard.runtime._run import _scalar

        self._log_json("row", name, {k: _scalar(name, v) for k, v in kwargs.items()})

    def log_table(self, name: str, value: Mapping[str, builtins.list[Any]],
                  description: str = "") -> None:
        from runyard.runtime._run import _plain_list

        self._log_json("table", name, {k: _plain_list(name, v) for k, v in value.items()})

    def log_image(self, name: str, path: str | os.PathLike[str] | None = None,
                  plot: Any = None, description: str = "") -> None:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            if plot is not None:
                path = Path(folder, "plot.png")
                plot.savefig(path, format="png")
            if path is None:
                raise InvalidMetricError(f"log_image {name!r}: give path or plot", name=name)
            target = f"images/{name}{Path(path).suffix or '.png'}"
            self.upload_file(target, path)
        self._log_json("image", name, target)

    def _log_v1_table(self, schema: str, name: str, value: Any) -> None:
        from runyard.runtime._run import v1_table

        self._log_json(V1_TABLE_KIND, _values_name(name), v1_table(schema, name, value))

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        """v1's accuracy table (a dict or its JSON text, schema_type "accuracy_table")."""
        self._log_v1_table("accuracy_table", name, value)

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        """v1's confusion matrix (schema_type "confusion_matrix")."""
        self._log_v1_table("confusion_matrix", name, value)

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        """v1's binned predictions (schema_type "predictions")."""
        self._log_v1_table("predictions", name, value)

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        """v1's residuals histogram (schema_type "residuals")."""
        self._log_v1_table("residuals", name, value)

    def tag(self, key: str, value: str | None = None) -> None:
        self.workspace.store.set_tags(self.id, {str(key): None if value is None else str(value)})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.workspace.store.set_tags(self.id, {str(k): None if v is None else str(v)
                                                for k, v in tags.items()})

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        self.workspace.store.add_properties(self.id, {str(k): str(v)
                                                      for k, v in properties.items()})

    # -- files --------------------------------------------------------------------------
    def get_file_names(self) -> builtins.list[str]:
        return [f["path"] for f in self.workspace.store.list_files(self.id)]

    def _key(self, name: str) -> str:
        return f"runs/{self.id}/{name}"

    def upload_file(self, name: str, path_or_stream: str | os.PathLike[str] | BinaryIO,
                    datastore_name: str | None = None) -> None:
        _datastore_ignored(datastore_name)
        name = _validation.artifact_path(name, what="file name")
        artifacts = self.workspace.artifacts
        if isinstance(path_or_stream, str | os.PathLike):
            size = artifacts.put_file(Path(path_or_stream), self._key(name))
        else:
            size = artifacts.put_stream(path_or_stream, self._key(name))
        self.workspace.store.add_files(self.id, [(name, size)])

    def upload_files(self, names: builtins.list[str],
                     paths: builtins.list[str | os.PathLike[str]], return_artifacts: bool = False,
                     timeout_seconds: int | None = None,
                     datastore_name: str | None = None) -> None:
        """Upload `paths[i]` as the run file `names[i]` (v1); all names are checked first."""
        _datastore_ignored(datastore_name)
        if len(names) != len(paths):
            raise ValidationError(f"upload_files got {len(names)} names and {len(paths)} "
                                  f"paths; give one name per path")
        clean = [_validation.artifact_path(n, what="file name") for n in names]
        missing = [str(p) for p in paths if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"upload_files: no file at {', '.join(missing[:5])}")
        for name, path in zip(clean, paths, strict=True):
            self.upload_file(name, path)

    def upload_folder(self, name: str, path: str | os.PathLike[str],
                      datastore_name: str | None = None) -> None:
        _datastore_ignored(datastore_name)
        name = _validation.artifact_path(name, what="folder name")
        base = Path(path)
        if not base.is_dir():
            raise FileNotFoundError(f"upload_folder: {path} is not a folder")
        from runyard.artifacts._walk import walk

        walked = walk(base, label=str(path))
        for warning in walked.warnings:  # links out, cycles, FIFOs (docs/files.md)
            print(f"upload_folder: {warning}", file=sys.stderr)
        for file in walked.files:
            self.upload_file(f"{name}/{file.name}", file.path)

    def download_file(self, name: str, output_file_path: str | os.PathLike[str] | None = None,
                      _validate_checksum: bool = False, *, overwrite: bool = False) -> str:
        """Download one run file; `output_file_path` may be a folder. Returns the path."""
        name = _validation.artifact_path(name, what="file name")
        names = self.get_file_names()
        if name not in names:
            shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise ArtifactNotFoundError(
                f"run {self.id} has no file {name!r}; its files: {shown or 'none'}",
                run_id=self.id, name=name)
        target = Path(output_file_path) if output_file_path is not None else Path(
            Path(name).name)
        if target.is_dir():
            target = target / Path(name).name
        if target.exists() and not overwrite:
            raise FileExistsNoOverwriteError(
                f"{target} already exists; pass overwrite=True to replace it", path=str(target))
        self.workspace.artifacts.get_file(self._key(name), target)
        return str(target)

    def download_files(self, prefix: str | None = None,
                       output_directory: str | os.PathLike[str] | None = None,
                       output_paths: builtins.list[str] | None = None, batch_size: int = 100,
                       append_prefix: bool = True, timeout_seconds: int | None = None,
                       *, overwrite: bool = False) -> builtins.list[str]:
        """Download every run file under `prefix` into `output_directory` (default: here),
        or to `output_paths`, one local path per file (in `get_file_names()` order)."""
        clean = _validation.artifact_prefix(prefix)
        files = [f["path"] for f in self.workspace.store.list_files(self.id, clean)]
        base = Path(output_directory) if output_directory is not None else Path.cwd()
        targets = []
        if output_paths is not None:
            paths = builtins.list(output_paths)
            if len(paths) != len(files) or len(set(paths)) != len(paths):
                raise ValidationError(
                    f"output_paths must be {len(files)} different paths, one per file under "
                    f"prefix {prefix!r} ({', '.join(files[:5])}"
                    f"{' ...' if len(files) > 5 else ''}); got {len(paths)}", run_id=self.id)
            targets = [base / p for p in paths]
        for name in files if output_paths is None else []:
            relative = name if append_prefix or not clean else name[len(clean):].lstrip("/")
            targets.append(base / _validation.artifact_path(relative or Path(name).name))
        existing = [str(t) for t in targets if t.exists()]
        if existing and not overwrite:
            raise FileExistsNoOverwriteError(
                f"{len(existing)} file(s) already exist, e.g. {existing[0]}; pass "
                f"overwrite=True to replace them", paths=existing)
        for name, target in zip(files, targets, strict=True):
            self.workspace.artifacts.get_file(self._key(name), target)
        return [str(t) for t in targets]

    # -- models -------------------------------------------------------------------------
    def register_model(self, model_name: str, model_path: str | None = None,
                       tags: Mapping[str, Any] | None = None,
                       properties: Mapping[str, Any] | None = None,
                       model_framework: str | None = None,
                       model_framework_version: str | None = None,
                       description: str | None = None, datasets: Any = None,
                       sample_input_dataset: Any = None, sample_output_dataset: Any = None,
                       resource_configuration: Any = None, **kwargs: Any) -> Model:
        """Register a file or folder of this run's files as the next version of a model.

        `model_path` is a run path, a folder ("outputs/model") or a file
        ("outputs/model.pkl"); it defaults to `model_name`. The model records this run
        and its experiment. A run that has not ended registers only the files it has
        uploaded so far, with a warning (outputs/ is uploaded at Finalizing).

        Example:
            >>> run.register_model("tf-dnn-mnist", model_path="outputs/model")  # doctest: +SKIP
            Model(workspace='ws', name='tf-dnn-mnist', id='tf-dnn-mnist:1', ...)
        """
        from runyard.models.model import register_from_run

        return register_from_run(self, model_name, model_path, tags=tags,
                                 properties=properties, description=description,
                                 model_framework=model_framework,
                                 model_framework_version=model_framework_version,
                                 datasets=datasets, sample_input_dataset=sample_input_dataset,
                                 sample_output_dataset=sample_output_dataset,
                                 resource_configuration=resource_configuration)

    # -- logs ---------------------------------------------------------------------------
    def _live_logs(self) -> Path:
        return self.workspace.run_dir(self.id) / "logs"

    def _log_names(self) -> builtins.list[str]:
        stored = [n for n in self.get_file_names() if n.startswith("logs/")]
        live = self._live_logs()
        # the supervisor removes its scratch folder when the run ends, at any moment
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            stored += [f"logs/{p.name}" for p in sorted(live.iterdir()) if p.is_file()]
        return sorted(set(stored))

    def read_log(self, name: str, offset: int = 0) -> bytes:
        """Bytes of a log file from `offset`: the live file while it is being written,
        the stored copy after."""
        name = _validation.artifact_path(name, what="log name")
        live = self._live_logs().parent / name
        try:
            with open(live, "rb") as handle:
                handle.seek(offset)
                return handle.read()
        except FileNotFoundError:
            pass
        try:
            with self.workspace.artifacts.open(self._key(name)) as handle:
                handle.seek(offset)
                return handle.read()
        except ArtifactNotFoundError:
            return b""

    def get_all_logs(self, destination: str | os.PathLike[str] | None = None) -> builtins.list[str]:
        """Write every log of the run (live ones as they are now) under `destination`
        (default `./assets/<run id>`, as v1); returns the paths written."""
        folder = Path(destination) if destination is not None else \
            Path.cwd() / "assets" / self.id
        if folder.exists() and not folder.is_dir():
            raise ValidationError(f"{folder} exists and is not a folder", path=str(folder))
        written = []
        for name in self._log_names():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.read_log(name))
            written.append(str(target))
        return written

    # -- lifecycle ----------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the run to stop; its processes are gone within seconds, status Canceled.
        An interactive or child run ends Canceled at once, its outputs uploaded."""
        row = self._fetch()
        if row["status"] in _status.TERMINAL:
            return
        store = self.workspace.store
        if (row["config"] or {}).get("kind") not in SUPERVISED_KINDS:
            self._end_interactive(_status.CANCELED)
            return
        store.request_cancel(self.id)
        pid = row["supervisor_pid"]
        if pid and row["supervisor_host"] == socket.gethostname() and \
                is_supervisor_of(pid, self.id):
            import signal

            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)

    def _end_interactive(self, status: str, error: str | None = None) -> bool:
        """End a run this process drives (interactive or child): upload its outputs
        folder as `outputs/`, then record the end state; False if it had ended already."""
        row = self._fetch()
        if row["status"] in _status.TERMINAL:
            return False
        config = row["config"] or {}
        folder = config.get("outputs")
        if folder and Path(folder).is_dir():
            from runyard.artifacts._run_files import record_warnings, upload_run_folder

            uploaded = upload_run_folder(self.workspace.artifacts, self.id, folder, "outputs",
                                         inside=folder)
            self.workspace.store.add_files(self.id, uploaded.files)
            record_warnings(self.workspace.store, self.id, "outputs", uploaded.warnings)
        self._row = None
        return self.workspace.store.set_status(self.id, status, error=error,
                                               only_if=list(_status.ACTIVE))

    def _is_driven_here(self) -> bool:
        return (self._fetch()["config"] or {}).get("kind") not in SUPERVISED_KINDS

    def start(self) -> None:
        """Mark a run this process drives Running (v1; runs are Running when made)."""
        if self._is_driven_here():
            self.workspace.store.set_status(self.id, _status.RUNNING,
                                            only_if=[_status.NOT_STARTED])

    def complete(self, _set_status: bool = True) -> None:
        """End an interactive or child run Completed, uploading its outputs folder."""
        if self._is_driven_here():
            self._end_interactive(_status.COMPLETED)
        else:
            self.workspace.store.set_status(self.id, _status.COMPLETED,
                                            only_if=list(_status.ACTIVE))

    def fail(self, error_details: Any = None, error_code: str | None = None,
             _set_status: bool = True) -> None:
        """End the run Failed with `error_details` (an exception or text) as its error."""
        if isinstance(error_details, BaseException):
            text = f"{type(error_details).__name__}: {error_details}"
        else:
            text = str(error_details) if error_details else "marked failed"
        if error_code:
            text = f"[{error_code}] {text}"
        if self._is_driven_here():
            self._end_interactive(_status.FAILED, error=text)
        else:
            self.workspace.store.set_status(self.id, _status.FAILED, error=text,
                                            only_if=list(_status.ACTIVE))

    def submit_child(self, config: Any, tags: Mapping[str, Any] | None = None,
                     **kwargs: Any) -> Run:
        """Submit `config` (a ScriptRunConfig or estimator) as a child run of this one."""
        return self.experiment.submit(config, tags=tags, _parent_id=self.id, **kwargs)

    def flush(self, timeout_seconds: int = 300) -> None:
        """Nothing to wait for: the client writes to the run history at once."""

    def take_snapshot(self, file_or_folder_path: str | os.PathLike[str]) -> str:
        """Snapshot a folder (or one file) as the run's source code and make it the run's
        snapshot (what restore_snapshot() gives by default); returns the snapshot id."""
        import shutil
        import tempfile

        from runyard.artifacts import snapshot
        from runyard.errors import ValidationError

        source = Path(file_or_folder_path)
        if source.is_dir():
            taken = snapshot.take(source, self.workspace.artifacts)
        elif source.is_file():
            with tempfile.TemporaryDirectory(prefix="runyard-snapshot-") as folder:
                shutil.copy2(source, Path(folder) / source.name)
                taken = snapshot.take(folder, self.workspace.artifacts)
        else:
            raise ValidationError(f"take_snapshot: {str(file_or_folder_path)!r} is neither a "
                                  f"file nor a folder", path=str(file_or_folder_path))
        self.workspace.store.set_snapshot(self.id, taken.id)
        self._row = None
        return taken.id

    def clean(self) -> builtins.list[str]:
        """Remove the run's scratch folder on this machine (its working directory and live
        logs; what was uploaded stays in the run history); returns the files removed. A
        run still active is refused: its processes use that folder."""
        import shutil

        from runyard.errors import ValidationError

        status = self._fetch()["status"]
        if status not in _status.TERMINAL:
            raise ValidationError(f"run {self.id} is {status}; clean() removes its working "
                                  f"folder, so wait for it to end (wait_for_completion) or "
                                  f"cancel() it first", run_id=self.id)
        folder = self.workspace.run_dir(self.id)
        if not folder.is_dir():
            return []
        removed = sorted(str(p) for p in folder.rglob("*") if not p.is_dir())
        shutil.rmtree(folder)
        return removed

    def child_run(self, name: str | None = None, run_id: str | None = None,
                  outputs: str | os.PathLike[str] | None = None) -> Run:
        """A child run, Running, that this process logs to and completes; `outputs` is a
        folder uploaded as the child's `outputs/` when it ends."""
        return self._make_children([(run_id, name, {})], outputs)[0]

    def create_children(self, count: int | None = None, tag_key: str | None = None,
                        tag_values: builtins.list[Any] | None = None) -> builtins.list[Run]:
        """`count` child runs tagged `azureml.batch_child_number` 0, 1, ..., or one per
        value of `tag_values` tagged `tag_key` (v1; at most 100), all Running."""
        from runyard.runtime._run import children_tags

        try:
            tags = children_tags(count, tag_key, tag_values)
        except RunyardError as e:
            raise ValidationError(str(e)) from None
        return self._make_children([(None, None, t) for t in tags], None)

    def _make_children(self, wanted: builtins.list[tuple[str | None, str | None,
                                                         dict[str, str]]],
                       outputs: str | os.PathLike[str] | None) -> builtins.list[Run]:
        store = self.workspace.store
        config: dict[str, Any] = {"kind": "interactive"}
        if outputs is not None:
            config["outputs"] = str(Path(outputs).absolute())
        made = []
        for run_id, name, tags in wanted:
            child_id = run_id or f"{self.id}_{os.urandom(4).hex()}"
            store.create_run(child_id, self.experiment.name, compute_target=None,
                             config=config, snapshot_id=None, parent_id=self.id,
                             display_name=name, status=_status.RUNNING, tags=tags)
            made.append(Run(self.experiment, child_id))
        return made

    def get_children(self, recursive: bool = False, tags: Mapping[str, str | None] | str |
                     None = None, properties: Mapping[str, str] | None = None,
                     type: str | None = None, status: str | None = None,
                     _rehydrate_runs: bool = True, **kwargs: Any) -> Iterator[Run]:
        """This run's children (and theirs, with recursive), newest first, filtered as in
        v1: `tags` a key or {key: value or None}, `properties` {key: value}, `type`
        ("azureml.scriptrun", "hyperdrive"), `status`."""
        tag_filter = {tags: None} if isinstance(tags, str) else tags
        for row in self.workspace.store.list_runs(parent_id=self.id):
            child = Run(self.experiment, row["id"])
            child._row = row
            if _matches(child, row, tag_filter, properties, type, status):
                yield child
            if recursive:
                yield from child.get_children(recursive=True, tags=tags,
                                              properties=properties, type=type, status=status)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: Any, error: Any, _tb: Any) -> None:
        self.fail(error) if kind is not None else self.complete()

    def wait_for_completion(self, show_output: bool = False, wait_post_processing: bool = False,
                            raise_on_error: bool = True,
                            timeout_seconds: float | None = None) -> dict[str, Any]:
        """Wait for the end state; with show_output, print stages and log lines as they come.

        Raises RunFailedError (with the reason and the last log lines) if the run failed
        and raise_on_error is True; TimeoutError after timeout_seconds.
        """
        from runyard._follow import Follower

        follower = Follower(self, sys.stdout if show_output else None)
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        while True:
            row = follower.step()
            if row["status"] in _status.TERMINAL:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.id} is still {row['status']} after "
                                   f"{timeout_seconds} s")
            time.sleep(POLL_SECONDS)
        follower.finish()
        details = self.get_details()
        if raise_on_error and row["status"] != _status.COMPLETED:
            tail = follower.tail()
            message = f"run {self.id} ended {row['status']}"
            if row["error"]:
                message += f": {row['error']}"
            if tail:
                message += "\nlast log lines:\n" + "\n".join(tail)
            raise RunFailedError(message, run_id=self.id, status=row["status"],
                                 error=row["error"], log_tail=tail)
        return details


def _datastore_ignored(datastore_name: str | None) -> None:
    if datastore_name is not None:
        import warnings

        warnings.warn(f"runyard ignores datastore_name={datastore_name!r}: a run's files "
                      f"live in the workspace's artifact store (see docs/migration.md)",
                      UserWarning, stacklevel=3)


def _matches(run: Run, row: dict[str, Any], tags: Mapping[str, str | None] | None,
             properties: Mapping[str, str] | None, type: str | None,
             status: str | None) -> bool:
    if status is not None and row["status"] != status:
        return False
    if type is not None and run.type != type:
        return False
    if tags:
        found = run.get_tags()
        if any(k not in found or (v is not None and found[k] != v) for k, v in tags.items()):
            return False
    if properties:
        found_properties = run.get_properties()
        if any(found_properties.get(k) != v for k, v in properties.items()):
            return False
    return True


def _values_name(name: object) -> str:
    from runyard.runtime import _values

    return _values.metric_name(name)


def shape_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Stored metric points → Azure's `get_metrics()` shape."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["name"], []).append(row)
    shaped: dict[str, Any] = {}
    for name, points in grouped.items():
        kind = points[0]["kind"]
        if kind in ("row", "table"):
            columns: dict[str, list[Any]] = {}
            for point in points:
                for key, value in json.loads(point["text"]).items():
                    if kind == "row":
                        columns.setdefault(key, []).append(value)
                    else:
                        columns.setdefault(key, []).extend(value)
            shaped[name] = columns
            continue
        if kind == "s":
            # SQLite keeps NaN as NULL: a point with neither number nor text was a NaN
            values = [p["value"] if p["value"] is not None else
                      (p["text"] if p["text"] is not None else float("nan")) for p in points]
        else:  # list, image
            values = [json.loads(p["text"]) for p in points]
        shaped[name] = values[0] if len(values) == 1 else values
    return shaped


__all__ = ["Run", "RunyardError", "reconcile", "shape_metrics"]
