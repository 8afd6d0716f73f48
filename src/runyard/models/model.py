"""Model: the model registry, with Azure ML v1's `azureml.core.Model` names and arguments.

Invariants:
- A model is a name with versions 1, 2, 3, ...; two registrations at the same moment get
  two versions (the store allocates them in one write transaction).
- A version's files never change once registered; its tags may (`add_tags`,
  `remove_tags`), its properties only grow (`add_properties`).
- Bad input (a name, a path, tags of the wrong shape, a run file that is not there) is
  refused before anything is copied or stored.
"""

from __future__ import annotations

import builtins
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from runyard import _status
from runyard._v1 import v1_members
from runyard._validation import artifact_path
from runyard.errors import ArtifactNotFoundError, ModelNotFoundError, ValidationError
from runyard.models import _download, _register

if TYPE_CHECKING:
    from runyard.run import Run
    from runyard.workspace import Workspace

Pairs = builtins.list[tuple[str, str | None]]
"""A tags or properties filter: (key, None) matches any value of the key."""


def _filter_pairs(value: object, what: str) -> Pairs:
    """v1's filter shapes: a key, a list of keys or [key, value] pairs, or a dict."""
    if value is None:
        return []
    if isinstance(value, str):
        return [(value, None)]
    if isinstance(value, Mapping):
        return [(str(k), None if v is None else str(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        pairs: Pairs = []
        for item in value:
            if isinstance(item, str):
                pairs.append((item, None))
            elif isinstance(item, list | tuple) and len(item) in (1, 2):
                pairs.append((str(item[0]), str(item[1]) if len(item) == 2 else None))
            else:
                raise ValidationError(f"{what} filter item {item!r} is neither a key nor a "
                                      f"[key, value] pair", value=value)
        return pairs
    raise ValidationError(f"{what} filter must be a key, a list of keys or [key, value] "
                          f"pairs, or a dict; got {type(value).__name__}", value=value)


def _matches(found: Mapping[str, str], pairs: Pairs) -> bool:
    return all(key in found and (value is None or found[key] == value) for key, value in pairs)


def _select(rows: Iterable[dict[str, Any]], *, tags: object = None, properties: object = None,
            run_id: str | None = None, framework: str | None = None) -> list[dict[str, Any]]:
    tag_pairs = _filter_pairs(tags, "tags")
    property_pairs = _filter_pairs(properties, "properties")
    return [row for row in rows
            if _matches(row["tags"], tag_pairs) and _matches(row["properties"], property_pairs)
            and (run_id is None or row["run_id"] == run_id)
            and (framework is None or row["framework"] == framework)]


def _version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"model version must be a whole number, got {value!r}",
                              version=value)
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(f"model version must be a whole number, got {value!r}",
                              version=value) from None
    if number < 1:
        raise ValidationError(f"model versions start at 1, got {number}", version=value)
    return number


def parse_id(model_id: str) -> tuple[str, int | None]:
    """'name:version' (or a bare name) → (name, version or None)."""
    name, colon, version = str(model_id).rpartition(":")
    if not colon:
        return _register.model_name(version), None
    return _register.model_name(name), _version(version)


def _shown(values: Iterable[object], limit: int = 20) -> str:
    items = [str(v) for v in values]
    text = ", ".join(items[:limit])
    return (text + f", ... ({len(items)} in all)" if len(items) > limit else text) or "none"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


@v1_members("azureml.core.model.Model")
class Model:
    """A registered model: one version of a name, whose files never change.

    `Model(ws, "mnist")` is the latest version, `Model(ws, "mnist", version=2)` or
    `Model(ws, id="mnist:2")` a given one; tags, properties and run_id narrow the choice
    to the latest version that has them.

    Example:
        >>> model = Model.register(ws, model_path="outputs/model", model_name="mnist",
        ...                        tags={"area": "digits"})           # doctest: +SKIP
        >>> model.version                                             # doctest: +SKIP
        1
        >>> Model(ws, "mnist").download(target_dir="./deploy")        # doctest: +SKIP
        'deploy/model'
    """

    class Framework:
        """v1's `Model.Framework` names (any string is accepted)."""

        CUSTOM = "Custom"
        MULTI = "Multi"
        ONNX = "Onnx"
        PYTORCH = "PyTorch"
        SCIKITLEARN = "ScikitLearn"
        TENSORFLOW = "TensorFlow"

    def __init__(self, workspace: Workspace, name: str | None = None, id: str | None = None,
                 tags: object = None, properties: object = None, version: int | None = None,
                 run_id: str | None = None, model_framework: str | None = None,
                 expand: bool = True, **kwargs: Any) -> None:  # noqa: ARG002 - v1's signature
        self.workspace = workspace
        self._record = _find(workspace, name=name, model_id=id, version=version, tags=tags,
                             properties=properties, run_id=run_id, framework=model_framework)

    @classmethod
    def _from_record(cls, workspace: Workspace, record: dict[str, Any]) -> Model:
        model = cls.__new__(cls)
        model.workspace = workspace
        model._record = record
        return model

    # -- registering ----------------------------------------------------------------------
    @classmethod
    def register(cls, workspace: Workspace, model_path: str | os.PathLike[str],
                 model_name: str, tags: Mapping[str, Any] | None = None,
                 properties: Mapping[str, Any] | None = None,
                 description: str | None = None, datasets: Any = None,
                 model_framework: str | None = None,
                 model_framework_version: str | None = None,
                 child_paths: Iterable[str] | None = None, sample_input_dataset: Any = None,
                 sample_output_dataset: Any = None,
                 resource_configuration: Any = None) -> Model:
        """Register a local file or folder as the next version of `model_name`.

        The files are copied into the workspace's artifact store (the original may then
        change or go); `child_paths` registers only these paths inside a folder.

        Raises:
            InvalidNameError: the name breaks the rules (letters, digits, '-', '_', '.';
                1-255 characters, starting with a letter or digit).
            SourceNotFoundError: `model_path` is not there.
        """
        _warn_ignored(datasets=datasets, sample_input_dataset=sample_input_dataset,
                      sample_output_dataset=sample_output_dataset,
                      resource_configuration=resource_configuration)
        name = _register.model_name(model_name)
        row = _register.metadata(tags=tags, properties=properties, description=description,
                                 model_framework=model_framework,
                                 model_framework_version=model_framework_version)
        root, files = _register.local_files(model_path, child_paths)
        version = _register.register(workspace, name, root, files,
                                     source_path=os.path.abspath(model_path), **row)
        return cls(workspace, name, version=version)

    # -- finding --------------------------------------------------------------------------
    @classmethod
    def list(cls, workspace: Workspace, name: str | None = None, tags: object = None,
             properties: object = None, run_id: str | None = None, latest: bool = False,
             model_framework: str | None = None,
             dataset_id: str | None = None, expand: bool = True,  # noqa: ARG003 - v1's
             page_count: int = 255) -> builtins.list[Model]:  # noqa: ARG003 - signature
        """Registered versions, by name, newest version first.

        `tags` and `properties` filter like v1: a key, a list of keys or of [key, value]
        pairs, or a dict (a None value matches any value). `latest=True` keeps the latest
        version of each name among those that match.
        """
        rows = _select(workspace.store.list_models(name), tags=tags, properties=properties,
                       run_id=run_id, framework=model_framework)
        if latest:
            newest: dict[str, dict[str, Any]] = {}
            for row in rows:  # newest version first within each name
                newest.setdefault(row["name"], row)
            rows = list(newest.values())
        return [cls._from_record(workspace, row) for row in rows]

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None,
                       _workspace: Workspace | None = None) -> str:
        """A local path to the model's file or folder, from this machine's cache
        (`RUNYARD_MODEL_CACHE`, default `~/.cache/runyard/models`), downloaded the first
        time. Inside a submitted run `_workspace` may be left out: the run's workspace is
        found from its working directory.
        """
        if _workspace is None:
            from runyard.workspace import Workspace

            _workspace = Workspace.from_config()
        model = Model(_workspace, model_name, version=version)
        path = _download.cached(_workspace.artifacts, model.name, model.version,
                                model._record["files"], label=f"model {model.id}")
        return str(path)

    # -- what it is -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self._record["name"])

    @property
    def version(self) -> int:
        return int(self._record["version"])

    @property
    def id(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record["tags"])

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._record["properties"])

    @property
    def description(self) -> str | None:
        return self._record["description"]  # type: ignore[no-any-return]

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._record["created_at"], UTC)

    @property
    def run_id(self) -> str | None:
        return self._record["run_id"]  # type: ignore[no-any-return]

    @property
    def experiment_name(self) -> str | None:
        return self._record["experiment"]  # type: ignore[no-any-return]

    @property
    def model_framework(self) -> str | None:
        return self._record["framework"]  # type: ignore[no-any-return]

    @property
    def model_framework_version(self) -> str | None:
        return self._record["framework_version"]  # type: ignore[no-any-return]

    @property
    def url(self) -> str:
        """The artifact key of the model's file or folder."""
        files = self._record["files"]
        return f"{files['prefix']}/{files['root']}"

    @property
    def source_path(self) -> str | None:
        """Where the files came from: a local path, or the path among the run's files."""
        return self._record["source_path"]  # type: ignore[no-any-return]

    @property
    def files(self) -> builtins.list[dict[str, Any]]:
        """The registered files: path (starting with the model's root), size, sha256."""
        return [dict(f) for f in self._record["files"]["files"]]

    @property
    def run(self) -> Run | None:
        """The run the model was registered from, if any."""
        if self.run_id is None:
            return None
        from runyard.run import Run

        return Run.get(self.workspace, self.run_id)

    def __repr__(self) -> str:
        return (f"Model(workspace={self.workspace.name!r}, name={self.name!r}, "
                f"id={self.id!r}, version={self.version}, tags={self.tags}, "
                f"properties={self.properties})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Model) and other.id == self.id
                and other.workspace == self.workspace)

    def __hash__(self) -> int:
        return hash((self.workspace, self.id))

    # -- reading it back ------------------------------------------------------------------
    def download(self, target_dir: str | os.PathLike[str] = ".", exist_ok: bool = False,
                 exists_ok: bool | None = None) -> str:
        """Download the model into `target_dir`; return the path of its file or folder.

        Every file is checked against the sha256 recorded at registration.

        Raises:
            FileExistsNoOverwriteError: the target is there and exist_ok is False.
            ChecksumMismatchError: a stored file is not the bytes registered.
        """
        return str(_download.download(
            self.workspace.artifacts, self._record["files"], Path(target_dir),
            exist_ok=exist_ok or bool(exists_ok), label=f"model {self.id}"))

    # -- what may change ------------------------------------------------------------------
    def add_tags(self, tags: Mapping[str, Any]) -> None:
        """Add tags, or change their values."""
        clean = _register.string_map(tags, "tags")
        self._record["tags"] = self.workspace.store.update_model_tags(
            self.name, self.version, clean)

    def remove_tags(self, tags: Iterable[str] | str) -> None:
        """Remove tags by key (keys that are not there are ignored)."""
        keys = [tags] if isinstance(tags, str) else [str(k) for k in tags]
        self._record["tags"] = self.workspace.store.update_model_tags(
            self.name, self.version, dict.fromkeys(keys))

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        """Add properties; a key that has another value already raises
        PropertyImmutableError (properties never change)."""
        clean = _register.string_map(properties, "properties")
        self._record["properties"] = self.workspace.store.update_model_properties(
            self.name, self.version, clean)

    def update_tags_properties(self, add_tags: Mapping[str, Any] | None = None,
                               remove_tags: Iterable[str] | None = None,
                               add_properties: Mapping[str, Any] | None = None) -> None:
        """Add and remove tags and add properties, in v1's one call."""
        if add_tags:
            self.add_tags(add_tags)
        if remove_tags:
            self.remove_tags(list(remove_tags))
        if add_properties:
            self.add_properties(add_properties)

    def update(self, tags: Mapping[str, Any] | None = None, description: str | None = None,
               sample_input_dataset: Any = None, sample_output_dataset: Any = None,
               resource_configuration: Any = None) -> None:
        """Replace the tags (all of them) and the description when given (v1)."""
        _warn_ignored(sample_input_dataset=sample_input_dataset,
                      sample_output_dataset=sample_output_dataset,
                      resource_configuration=resource_configuration)
        if tags is not None:
            clean = _register.string_map(tags, "tags")
            gone = {key: None for key in self.tags if key not in clean}
            self._record["tags"] = self.workspace.store.update_model_tags(
                self.name, self.version, {**gone, **clean})
        if description is not None:
            self.workspace.store.set_model_description(self.name, self.version,
                                                       str(description))
            self._record["description"] = str(description)

    # -- as data --------------------------------------------------------------------------
    def delete(self) -> None:
        """Remove this version from the registry (other versions stay). Runs that made it
        keep their files; a model already downloaded stays where it was put."""
        if not self.workspace.store.delete_model(self.name, self.version):
            raise ModelNotFoundError(f"model {self.id} is not registered (deleted already?)",
                                     name=self.name, version=self.version)

    def serialize(self) -> dict[str, Any]:
        """The model as JSON-ready data (v1's keys, plus its files)."""
        record = self._record
        return {"id": self.id, "name": self.name, "version": self.version,
                "description": self.description, "createdTime": _iso(record["created_at"]),
                "tags": self.tags, "properties": self.properties, "runId": self.run_id,
                "experimentName": self.experiment_name, "framework": self.model_framework,
                "frameworkVersion": self.model_framework_version, "url": self.url,
                "sourcePath": self.source_path, "files": record["files"]}

    @staticmethod
    def deserialize(workspace: Workspace, model_payload: Mapping[str, Any]) -> Model:
        """A Model from `serialize()`'s data (looked up by id when the files are missing)."""
        if "files" not in model_payload:
            return Model(workspace, id=model_payload["id"])
        created = datetime.fromisoformat(str(model_payload["createdTime"]).replace(
            "Z", "+00:00")).timestamp()
        record = {
            "name": model_payload["name"], "version": int(model_payload["version"]),
            "description": model_payload.get("description"), "created_at": created,
            "tags": dict(model_payload.get("tags") or {}),
            "properties": dict(model_payload.get("properties") or {}),
            "run_id": model_payload.get("runId"),
            "experiment": model_payload.get("experimentName"),
            "framework": model_payload.get("framework"),
            "framework_version": model_payload.get("frameworkVersion"),
            "source_path": model_payload.get("sourcePath"),
            "files": dict(model_payload["files"]),
        }
        return Model._from_record(workspace, record)


def _find(workspace: Workspace, *, name: str | None, model_id: str | None,
          version: object, tags: object, properties: object, run_id: str | None,
          framework: str | None) -> dict[str, Any]:
    """The row `Model(...)` names: the latest version that matches everything given."""
    wanted = None if version is None else _version(version)
    if model_id is not None:
        id_name, id_version = parse_id(model_id)
        if (name is not None and name != id_name) or (
                wanted is not None and id_version is not None and wanted != id_version):
            raise ValidationError(f"id {model_id!r} disagrees with name={name!r} / "
                                  f"version={version!r}", id=model_id)
        name, wanted = id_name, id_version if id_version is not None else wanted
    filters: dict[str, Any] = {"tags": tags, "properties": properties, "run_id": run_id,
                               "framework": framework}
    store = workspace.store
    if name is None:
        if all(v is None for v in filters.values()) and wanted is None:
            raise ValidationError("Model() needs a name or an id, like Model(ws, 'mnist') or "
                                  "Model(ws, id='mnist:2')")
        rows = [r for r in _select(store.list_models(), **filters)
                if wanted is None or r["version"] == wanted]
        if not rows:
            raise ModelNotFoundError(f"no registered model matches {_describe(filters)}",
                                     name=None)
        return max(rows, key=lambda r: (r["created_at"], r["version"]))
    name = _register.model_name(name)
    if wanted is not None and all(v is None for v in filters.values()):
        row = store.get_model(name, wanted)
        if row is not None:
            return row
    rows = store.list_models(name)
    if not rows:
        known = sorted({r["name"] for r in store.list_models()})
        raise ModelNotFoundError(f"no model named {name!r} in this workspace; registered "
                                 f"models: {_shown(known)}", name=name, known=known)
    versions = sorted(r["version"] for r in rows)
    matching = [r for r in _select(rows, **filters) if wanted is None or r["version"] == wanted]
    if not matching:
        what = f"version {wanted}" if wanted is not None else "version"
        if any(v is not None for v in filters.values()):
            what += f" with {_describe(filters)}"
        raise ModelNotFoundError(f"model {name!r} has no {what}; its versions: "
                                 f"{_shown(versions)}", name=name, versions=versions)
    return matching[0]


def _describe(filters: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)


def _warn_ignored(stacklevel: int = 3, **arguments: object) -> None:
    given = sorted(k for k, v in arguments.items() if v is not None)
    if given:
        warnings.warn(f"runyard ignores {', '.join(given)} (Azure-only); the model is "
                      f"registered without them", stacklevel=stacklevel)


def register_from_run(run: Run, model_name: str, model_path: str | None = None, *,
                      tags: Mapping[str, Any] | None = None,
                      properties: Mapping[str, Any] | None = None,
                      description: str | None = None, model_framework: str | None = None,
                      model_framework_version: str | None = None,
                      **azure_only: Any) -> Model:
    """`Run.register_model`: a file or folder among the run's files, as the next version.

    `model_path` ("outputs/model", "outputs/model.pkl") defaults to the model's name. A run
    that has not ended may register only files it has uploaded already; that warns.
    `azure_only` (datasets, sample_input_dataset, ...) are ignored with a warning.
    """
    _warn_ignored(stacklevel=4, **azure_only)
    name = _register.model_name(model_name)
    row = _register.metadata(tags=tags, properties=properties, description=description,
                             model_framework=model_framework,
                             model_framework_version=model_framework_version)
    path = artifact_path(model_path if model_path is not None else name, what="model_path")
    status = run.get_status()
    names = run.get_file_names()
    chosen = [path] if path in names else [n for n in names if n.startswith(path + "/")]
    if not chosen:
        message = f"run {run.id} has no file or folder {path!r}"
        if status not in _status.TERMINAL:
            message += (f" yet (it is {status}; files under outputs/ are uploaded when it "
                        f"reaches {_status.FINALIZING})")
        raise ArtifactNotFoundError(f"{message}; its files: {_shown(names)}",
                                    run_id=run.id, path=path, files=names[:20])
    if status not in _status.TERMINAL:
        warnings.warn(
            f"run {run.id} is still {status}: only the files it has uploaded so far are "
            f"registered ({len(chosen)} under {path!r}); files under outputs/ are uploaded "
            f"when it reaches {_status.FINALIZING}", stacklevel=3)
    artifacts = run.workspace.artifacts
    root = path.rsplit("/", 1)[-1]

    def opener(key: str) -> Callable[[], BinaryIO]:
        return lambda: artifacts.open(key)

    files = [_register.SourceFile(root if n == path else f"{root}/{n[len(path) + 1:]}",
                                  opener(run._key(n))) for n in chosen]
    version = _register.register(run.workspace, name, root, files, run_id=run.id,
                                 experiment=run.experiment.name, source_path=path, **row)
    return Model(run.workspace, name, version=version)
