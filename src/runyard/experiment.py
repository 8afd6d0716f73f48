"""Experiment: a named group of runs, and where runs are submitted.

Invariant: `submit` validates everything (config, compute target, tags, the arguments
and environment variables a process gets, the snapshot's file names) and takes the
snapshot before the run is written, so bad input leaves no run behind.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard import _status, _validation
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.run import Run
    from runyard.workspace import Workspace


def new_run_id(experiment: str) -> str:
    return f"{experiment}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise ValidationError(f"tags must be a dict of str to str, got {type(tags).__name__}")
    return {str(k): "" if v is None else str(v) for k, v in tags.items()}


class Experiment:
    """Runs grouped under a name: letters, digits, '-' and '_', 1-255 characters.

    Example:
        >>> exp = Experiment(workspace=ws, name="tf-mnist")   # doctest: +SKIP
        >>> run = exp.submit(ScriptRunConfig(".", "train.py"))  # doctest: +SKIP
    """

    def __init__(self, workspace: Workspace, name: str, **azure_arguments: Any) -> None:
        self.workspace = workspace
        self.name = _validation.experiment_name(name)
        self.id = workspace.store.ensure_experiment(self.name)

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r}, workspace={self.workspace.name!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Experiment) and other.name == self.name
                and other.workspace == self.workspace)

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))

    @classmethod
    def list(cls, workspace: Workspace, experiment_name: str | None = None,
             **azure_arguments: Any) -> list[Experiment]:
        return [cls(workspace, row["name"]) for row in workspace.store.list_experiments()
                if experiment_name is None or row["name"] == experiment_name]

    def submit(self, config: Any, tags: Mapping[str, Any] | None = None,
               *, _parent_id: str | None = None, **kwargs: Any) -> Run:
        """Submit a ScriptRunConfig (or estimator); returns the Run at once."""
        from runyard.artifacts import snapshot
        from runyard.compute import get_compute_target
        from runyard.run import Run

        prepare = getattr(config, "_submission", None)
        if prepare is None:
            raise ValidationError(
                f"cannot submit a {type(config).__name__}; submit a ScriptRunConfig")
        submission = prepare()
        # what no process could be started with fails here, not at Starting
        _validation.check_process_config(submission.config)
        clean_tags = _tags(tags)
        compute = get_compute_target(self.workspace, submission.compute_target)
        compute.check_submission(submission.config)
        taken = snapshot.take(submission.source_directory, self.workspace.artifacts)
        run_id = new_run_id(self.name)
        config_row = {**submission.config, "source_directory": str(submission.source_directory),
                      "snapshot": {"files": taken.files, "bytes": taken.bytes,
                                   "new_bytes": taken.new_bytes}}
        self.workspace.store.create_run(run_id, self.name, compute_target=compute.name,
                                        config=config_row, snapshot_id=taken.id,
                                        tags=clean_tags, parent_id=_parent_id)
        try:
            compute.launch(run_id)
        except Exception as e:
            self.workspace.store.set_status(run_id, _status.FAILED,
                                            error=f"could not launch on {compute.name}: {e}")
            raise
        return Run(self, run_id)

    def start_logging(self, display_name: str | None = None, *, name: str | None = None,
                      run_id: str | None = None,
                      outputs: str | os.PathLike[str] | bool | None = None,
                      snapshot_directory: str | os.PathLike[str] | None = None,
                      tags: Mapping[str, Any] | None = None, **kwargs: Any) -> Run:
        """An interactive run that this process logs to directly (a notebook's run).

        As in v1, `outputs` (default "./outputs"; False for none) is made now and uploaded
        as the run's `outputs/` when the run ends (`complete()`, `fail()`, `cancel()`).
        `snapshot_directory` is snapshotted when given (v1 took "." by default; a
        notebook's folder is often large, so here it is taken only when asked for).
        """
        from runyard.artifacts import snapshot
        from runyard.run import Run

        if outputs is True or outputs is None:
            outputs = "outputs"
        folder = None if outputs is False else Path(outputs).absolute()
        if folder is not None and folder.exists() and not folder.is_dir():
            raise ValidationError(f"outputs {str(outputs)!r} is a file; give a folder, or "
                                  f"outputs=False for none", path=str(folder))
        clean_tags = _tags(tags)
        taken = None
        if snapshot_directory is not None:
            if not Path(snapshot_directory).is_dir():
                raise ValidationError(f"snapshot_directory {str(snapshot_directory)!r} is not "
                                      f"a folder", path=str(snapshot_directory))
            taken = snapshot.take(snapshot_directory, self.workspace.artifacts)
        chosen = new_run_id(self.name) if run_id is None else _validation.checked_name(
            run_id, what="run_id", allowed="-_.", first_alnum=True)
        try:
            self.workspace.store.get_run(chosen)
        except KeyError:
            pass
        else:
            from runyard.errors import RunIdInUseError

            raise RunIdInUseError(f"run_id {chosen!r} is already used by another run; give "
                                  f"another (or none, for a generated one)", run_id=chosen)
        config: dict[str, Any] = {"kind": "interactive"}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            config["outputs"] = str(folder)
        if taken is not None:
            config["source_directory"] = str(Path(snapshot_directory).resolve())  # type: ignore[arg-type]
        self.workspace.store.create_run(chosen, self.name, compute_target=None,
                                        config=config,
                                        snapshot_id=None if taken is None else taken.id,
                                        display_name=display_name or name, tags=clean_tags,
                                        status=_status.RUNNING)
        return Run(self, chosen)

    @property
    def workspace_object(self) -> Workspace:
        """v1's older name for `workspace`."""
        return self.workspace

    def get_portal_url(self) -> str:
        """Where to look at the experiment: the workspace folder (file://) until the web
        UI serves it."""
        return self.workspace.path.as_uri()

    @property
    def portal_url(self) -> str:
        return self.get_portal_url()

    def get_runs(self, type: str | None = None, tags: Mapping[str, str | None] | None = None,
                 properties: Mapping[str, str] | None = None,
                 include_children: bool = False) -> Iterator[Run]:
        """This experiment's runs, newest first."""
        from runyard.run import Run

        return Run.list(self, type=type, tags=tags, properties=properties,
                        include_children=include_children)
