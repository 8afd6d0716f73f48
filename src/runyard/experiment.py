"""Experiment: a named group of runs, and where runs are submitted.

Invariant: `submit` validates everything (config, compute target, tags, the arguments
and environment variables a process gets, the snapshot's file names) and takes the
snapshot before the run is written, so bad input leaves no run behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
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
               **kwargs: Any) -> Run:
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
                                        tags=clean_tags)
        try:
            compute.launch(run_id)
        except Exception as e:
            self.workspace.store.set_status(run_id, _status.FAILED,
                                            error=f"could not launch on {compute.name}: {e}")
            raise
        return Run(self, run_id)

    def start_logging(self, display_name: str | None = None, **kwargs: Any) -> Run:
        """An interactive run that this process logs to directly (a notebook's run)."""
        from runyard.run import Run

        run_id = new_run_id(self.name)
        self.workspace.store.create_run(run_id, self.name, compute_target=None,
                                        config={"kind": "interactive"}, snapshot_id=None,
                                        display_name=display_name, status=_status.RUNNING)
        return Run(self, run_id)

    def get_runs(self, type: str | None = None, tags: Mapping[str, str | None] | None = None,
                 properties: Mapping[str, str] | None = None,
                 include_children: bool = False) -> Iterator[Run]:
        """This experiment's runs, newest first."""
        from runyard.run import Run

        return Run.list(self, tags=tags, properties=properties,
                        include_children=include_children)
