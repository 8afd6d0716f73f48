"""Workspace: a folder with `.runyard/config.json`, its run history and its artifacts.

Invariants:
- `config.json` holds settings, not state; the embedded defaults (SQLite in WAL mode at
  `.runyard/runyard.db`, artifacts under `.runyard/artifacts`) are derived from where the
  config lies, so a workspace folder can be moved or copied.
- The store and the artifact store are opened lazily, on first use.
- `RUNYARD_STORE_URL` / `RUNYARD_ARTIFACT_URL` override the config (a team's PostgreSQL,
  an object store, or a test matrix).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard import _validation
from runyard._atomic import atomic_write
from runyard.errors import ValidationError, WorkspaceExistsError, WorkspaceNotFoundError

if TYPE_CHECKING:
    from runyard.artifacts import ArtifactStore
    from runyard.compute import ComputeTarget
    from runyard.data import Datastore
    from runyard.data._dataset_base import AbstractDataset
    from runyard.environment import Environment
    from runyard.experiment import Experiment
    from runyard.models import Model
    from runyard.store import AbstractStore

CONFIG_DIR = ".runyard"
CONFIG_FILE = "config.json"


class Workspace:
    """The top of everything: run history, artifacts, compute targets.

    Example:
        >>> ws = Workspace.create("demo", path=tmp, exist_ok=True)  # doctest: +SKIP
        >>> ws = Workspace.from_config()                             # doctest: +SKIP
    """

    def __init__(self, name: str, path: str | os.PathLike[str], *,
                 store_url: str | None = None, artifact_url: str | None = None) -> None:
        self.name = name
        self.path = Path(path).resolve()
        self.config_dir = self.path / CONFIG_DIR
        self._store_url = store_url
        self._artifact_url = artifact_url
        self._store: AbstractStore | None = None
        self._artifacts: ArtifactStore | None = None

    # -- creating and finding ------------------------------------------------------------
    @classmethod
    def create(cls, name: str, path: str | os.PathLike[str] = ".", exist_ok: bool = False,
               *, store_url: str | None = None, artifact_url: str | None = None,
               **azure_arguments: Any) -> Workspace:
        """Create a workspace in `path` (writes `path/.runyard/config.json`).

        Azure's subscription_id, resource_group, location, ... are accepted and ignored.
        """
        _validation.experiment_name(name, what="workspace name")
        _warn_ignored(azure_arguments)
        root = Path(path).resolve()
        config_path = root / CONFIG_DIR / CONFIG_FILE
        if config_path.exists():
            if not exist_ok:
                raise WorkspaceExistsError(
                    f"a workspace already exists at {config_path}; "
                    f"pass exist_ok=True to use it", path=str(config_path),
                )
            existing = cls._load(config_path)
            existing.store  # noqa: B018 - make sure the store is there and migrated
            return existing
        workspace = cls(name, root, store_url=store_url, artifact_url=artifact_url)
        workspace.config_dir.mkdir(parents=True, exist_ok=True)
        workspace.store  # noqa: B018 - creates and migrates the run history
        workspace.write_config()
        return workspace

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None,
                    **azure_arguments: Any) -> Workspace:
        """Find `.runyard/config.json` in `path` (default: the current folder) or a parent.

        `path` may also name a config file directly.
        """
        _warn_ignored(azure_arguments, keep={"auth", "_logger", "_file_name"})
        start = Path(path if path is not None else os.getcwd()).resolve()
        if start.is_file():
            return cls._load(start)
        for folder in (start, *start.parents):
            candidate = folder / CONFIG_DIR / CONFIG_FILE
            if candidate.is_file():
                return cls._load(candidate)
            # Azure's notebooks keep config.json beside them or in .azureml/
            for legacy in (folder / CONFIG_FILE, folder / ".azureml" / CONFIG_FILE):
                if legacy.is_file() and _is_runyard_config(legacy):
                    return cls._load(legacy)
        raise WorkspaceNotFoundError(
            f"no workspace found in {start} or any parent folder (looked for "
            f"{CONFIG_DIR}/{CONFIG_FILE}); create one with Workspace.create(name) "
            f"or `runyard init`", path=str(start),
        )

    @classmethod
    def _load(cls, config_path: Path) -> Workspace:
        config = _read_config(config_path)
        root = config_path.parent.parent if config_path.parent.name in (
            CONFIG_DIR, ".azureml") else config_path.parent
        return cls(config.get("name") or root.name, root,
                   store_url=config.get("store_url"), artifact_url=config.get("artifact_url"))

    def write_config(self, path: str | os.PathLike[str] | None = None,
                     file_name: str | None = None) -> None:
        """Write the config (atomically) into `.runyard/` of `path` (default: the workspace)."""
        folder = Path(path) / CONFIG_DIR if path is not None else self.config_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (file_name or CONFIG_FILE)
        config = {"name": self.name, "store_url": self._store_url,
                  "artifact_url": self._artifact_url}
        atomic_write(target, json.dumps(config, indent=2) + "\n", durable=True)

    # -- settings -------------------------------------------------------------------------
    @property
    def store_url(self) -> str:
        return (os.environ.get("RUNYARD_STORE_URL") or self._store_url
                or f"sqlite:///{self.config_dir / 'runyard.db'}")

    @property
    def artifact_url(self) -> str:
        return (os.environ.get("RUNYARD_ARTIFACT_URL") or self._artifact_url
                or (self.config_dir / "artifacts").as_uri())

    @property
    def store(self) -> AbstractStore:
        if self._store is None:
            from runyard.store import open_store

            self._store = open_store(self.store_url)
        return self._store

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            from runyard.artifacts import open_artifact_store

            self._artifacts = open_artifact_store(self.artifact_url)
        return self._artifacts

    def run_dir(self, run_id: str) -> Path:
        """This machine's scratch folder for a run: working directory, live logs, channel."""
        return self.config_dir / "runs" / run_id

    # -- what lives in it -----------------------------------------------------------------
    @property
    def experiments(self) -> dict[str, Experiment]:
        from runyard.experiment import Experiment

        return {e.name: e for e in Experiment.list(self)}

    @property
    def models(self) -> dict[str, Model]:
        """Registered models, the latest version of each, by name."""
        from runyard.models import Model

        return {model.name: model for model in Model.list(self, latest=True)}

    @property
    def environments(self) -> dict[str, Environment]:
        """Registered environments, the latest version of each, by name."""
        from runyard.environment import Environment

        return Environment.list(self)

    @property
    def datastores(self) -> dict[str, Datastore]:
        """Registered datastores by name; `workspaceblobstore` is always among them."""
        from runyard.data.datastore import list_datastores

        return list_datastores(self)

    def get_default_datastore(self) -> Datastore:
        """`workspaceblobstore`: the folder `.runyard/datastores/workspaceblobstore`,
        registered on first use."""
        from runyard.data import Datastore

        return Datastore.get_default(self)

    def set_default_datastore(self, name: str) -> None:
        """Make the registered datastore `name` the default (v1's set_default_datastore)."""
        from runyard.data import Datastore

        Datastore(self, name).set_as_default()

    @property
    def datasets(self) -> dict[str, AbstractDataset]:
        """Registered datasets, the latest version of each, by name (v1's ws.datasets)."""
        from runyard.data._dataset_base import AbstractDataset

        return AbstractDataset.get_all(self)

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        from runyard.compute import list_compute_targets

        return {c.name: c for c in list_compute_targets(self)}

    def get_details(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "store_url": self.store_url,
                "artifact_url": self.artifact_url, "host": socket.gethostname()}

    def __repr__(self) -> str:
        return f"Workspace(name={self.name!r}, path={str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


def _read_config(path: Path) -> dict[str, Any]:
    """The settings in a config file, checked: a JSON object (UTF-8) whose settings are
    strings (or null where they have a default)."""
    try:
        text = path.read_bytes().decode("utf-8")
        config = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        why = (f"it is not UTF-8 text ({e.reason} at byte {e.start})"
               if isinstance(e, UnicodeDecodeError) else str(e))
        raise WorkspaceNotFoundError(
            f"cannot read workspace config {path}: {why}", path=str(path)) from e
    if not isinstance(config, dict):
        raise ValidationError(
            f"workspace config {path} holds a JSON {_json_type(config)}, not an object "
            f'like {{"name": "my-project"}}', path=str(path))
    for key in _CONFIG_STRINGS:
        value = config.get(key)
        if value is not None and not isinstance(value, str):
            raise ValidationError(
                f"workspace config {path}: {key!r} must be a string, got a JSON "
                f"{_json_type(value)} ({json.dumps(value)[:80]})", path=str(path), key=key)
    return config


# the settings config.json may hold: each a string, or null (or absent) for the default
_CONFIG_STRINGS = ("name", "store_url", "artifact_url")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__)


def _is_runyard_config(path: Path) -> bool:
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(config, dict) and ("store_url" in config or "artifact_url" in config)


def _warn_ignored(arguments: dict[str, Any], keep: set[str] | None = None) -> None:
    ignored = sorted(k for k in arguments if k not in (keep or set()))
    if ignored:
        import warnings

        warnings.warn(
            f"runyard ignores Azure-only arguments: {', '.join(ignored)}", stacklevel=3
        )
