"""Experiment: a named group of runs, and where runs are submitted.

Invariant: `submit` validates everything (config, compute target, tags, the arguments
and environment variables a process gets, the snapshot's file names) and takes the
snapshot before the run is written, so bad input leaves no run behind.
"""

from __future__ import annotations

import builtins
import dataclasses
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard import _status, _validation
from runyard._v1 import v1_members
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.run import Run
    from runyard.workspace import Workspace


_VIEW_TYPES = ("ActiveOnly", "All", "ArchivedOnly")


def new_run_id(experiment: str) -> str:
    return f"{experiment}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise ValidationError(f"tags must be a dict of str to str, got {type(tags).__name__}")
    return {str(k): "" if v is None else str(v) for k, v in tags.items()}


@v1_members("azureml.core.experiment.Experiment")
class Experiment:
    """Runs grouped under a name: letters, digits, '-' and '_', 1-255 characters.

    Example:
        >>> exp = Experiment(workspace=ws, name="tf-mnist")   # doctest: +SKIP
        >>> run = exp.submit(ScriptRunConfig(".", "train.py"))  # doctest: +SKIP
    """

    # v1's class constants (its portal links and log identities), kept for code that reads them
    DELIM = "#"
    EXPERIMENT_ID_PATH = "/experiments/id/{0}"
    EXPERIMENT_NAME_PATH = "/experiments/{0}"
    TID_FMT = "&tid={0}"
    WORKSPACE_FMT = "?wsid=/subscriptions/{0}/resourcegroups/{1}/workspaces/{2}"

    def __init__(self, workspace: Workspace, name: str, **azure_arguments: Any) -> None:
        self.workspace = workspace
        self.name = _validation.experiment_name(name)
        self.id = workspace.store.ensure_experiment(self.name)
        self._row: dict[str, Any] | None = None

    # -- v1's tags and archival, stored on the experiment ---------------------------------
    def _stored(self) -> dict[str, Any]:
        if self._row is None:
            self.refresh()
        assert self._row is not None
        return self._row

    def refresh(self) -> None:
        """Read the experiment's tags and archival time from the run history again."""
        for row in self.workspace.store.list_experiments():
            if row["name"] == self.name:
                self._row = row
                return
        raise ValidationError(f"experiment {self.name!r} is no longer in workspace "
                              f"{self.workspace.name!r} (deleted)", name=self.name)

    @property
    def tags(self) -> dict[str, str | None]:
        """The experiment's tags (a copy; change them with tag, set_tags, remove_tags)."""
        return dict(self._stored()["tags"] or {})

    @property
    def archived_time(self) -> str | None:
        """When the experiment was archived (ISO 8601, UTC); None while it is active."""
        archived = self._stored()["archived_at"]
        if archived is None:
            return None
        from datetime import UTC, datetime

        return datetime.fromtimestamp(archived, UTC).isoformat()

    @property
    def identity(self) -> str:
        """v1's log identity: "Experiment#<name>"."""
        return f"Experiment{self.DELIM}{self.name}"

    def tag(self, key: str, value: str | None = None) -> None:
        """Tag the experiment with `key` (and an optional value), as v1 does."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Add or change tags; tags not named are kept."""
        if not isinstance(tags, Mapping):
            raise ValidationError(f"tags must be a dict of str to str, got "
                                  f"{type(tags).__name__}")
        clean = {str(k): None if v is None else str(v) for k, v in tags.items()}
        self._update_tags(clean, [])

    def remove_tags(self, tags: list[str] | str) -> None:
        """Remove the tags named (a missing one is no error)."""
        self._update_tags({}, [tags] if isinstance(tags, str) else [str(k) for k in tags])

    def _update_tags(self, tags: Mapping[str, str | None], remove: list[str]) -> None:
        self.workspace.store.update_experiment_tags(self.name, tags, remove)
        self._row = None

    def archive(self) -> None:
        """Archive the experiment: Experiment.list leaves it out unless asked
        (view_type=ViewType.ArchivedOnly or All); its runs stay, and reactivate()
        makes it active again."""
        self.workspace.store.set_experiment_archived(self.name, time.time())
        self._row = None

    def reactivate(self, new_name: str | None = None) -> None:
        """Make an archived experiment active again (v1 no longer renames: `new_name`
        is refused, as v1 refuses it)."""
        if new_name is not None:
            raise ValidationError("cannot rename an experiment; reactivate() it under its "
                                  f"own name {self.name!r}", name=self.name)
        self.workspace.store.set_experiment_archived(self.name, None)
        self._row = None

    @staticmethod
    def delete(workspace: Workspace, experiment_id: int | str) -> None:
        """Delete an experiment (by id, or by name) that has no runs. runyard keeps run
        history: an experiment with runs is refused; archive() it to hide it instead."""
        rows = workspace.store.list_experiments()
        found = [r for r in rows if experiment_id in (r["id"], r["name"], str(r["id"]))]
        if not found:
            raise ValidationError(f"no experiment {experiment_id!r} in workspace "
                                  f"{workspace.name!r}; known: "
                                  f"{', '.join(r['name'] for r in rows) or 'none'}")
        name = found[0]["name"]
        try:
            workspace.store.delete_experiment(name)
        except ValueError as e:
            raise ValidationError(f"{e}; runyard does not delete run history, so "
                                  f"experiment {name!r} stays: archive() it to leave it out "
                                  f"of Experiment.list", name=name) from e

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r}, workspace={self.workspace.name!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Experiment) and other.name == self.name
                and other.workspace == self.workspace)

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))

    @classmethod
    def list(cls, workspace: Workspace, experiment_name: str | None = None,
             view_type: str = "ActiveOnly", tags: str | Mapping[str, Any] | None = None,
             **azure_arguments: Any) -> builtins.list[Experiment]:
        """The workspace's experiments: active ones (v1's default), archived ones
        (view_type="ArchivedOnly") or all ("All"); `tags` a key or {key: value} to match."""
        if view_type not in _VIEW_TYPES:
            raise ValidationError(f"view_type {view_type!r} is not one of "
                                  f"{', '.join(_VIEW_TYPES)}", valid=_VIEW_TYPES)
        wanted = {tags: None} if isinstance(tags, str) else dict(tags or {})
        found = []
        for row in workspace.store.list_experiments():
            archived = row["archived_at"] is not None
            if experiment_name is not None and row["name"] != experiment_name:
                continue
            if (view_type == "ActiveOnly" and archived) or \
                    (view_type == "ArchivedOnly" and not archived):
                continue
            stored = row["tags"] or {}
            if any(k not in stored or (v is not None and stored[k] != str(v))
                   for k, v in wanted.items()):
                continue
            experiment = cls.__new__(cls)
            experiment.workspace, experiment.name, experiment.id = \
                workspace, row["name"], row["id"]
            experiment._row = row
            found.append(experiment)
        return found

    def submit(self, config: Any, tags: Mapping[str, Any] | None = None,
               *, _parent_id: str | None = None, _run_id: str | None = None,
               **kwargs: Any) -> Run:
        """Submit a ScriptRunConfig (or estimator), or a HyperDriveConfig (a sweep:
        runyard.hyperdrive); returns the Run (a HyperDriveRun for a sweep) at once."""
        from runyard.hyperdrive.runconfig import HyperDriveConfig

        if isinstance(config, HyperDriveConfig):
            from runyard.hyperdrive.run import submit_sweep

            return submit_sweep(self, config, tags)
        from runyard.artifacts import snapshot
        from runyard.compute import get_compute_target
        from runyard.run import Run

        prepare = getattr(config, "_submission", None)
        if prepare is None:
            raise ValidationError(
                f"cannot submit a {type(config).__name__}; submit a ScriptRunConfig")
        from runyard._spec import RunSpec

        submission = prepare()
        # what no process could be started with fails here, not at Starting
        _validation.check_process_config(submission.config)
        # the run's typed record, with its process plan: made here, once per run
        spec = RunSpec.from_json(submission.config).with_plan()
        clean_tags = _tags(tags)
        compute = get_compute_target(self.workspace, submission.compute_target)
        compute.check_submission(spec.to_json())
        taken = snapshot.take(submission.source_directory, self.workspace.artifacts)
        run_id = _run_id or new_run_id(self.name)
        spec = dataclasses.replace(
            spec, source_directory=str(submission.source_directory),
            snapshot={"files": taken.files, "bytes": taken.bytes, "new_bytes": taken.new_bytes})
        self.workspace.store.create_run(run_id, self.name, compute_target=compute.name,
                                        config=spec.to_json(), snapshot_id=taken.id,
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
