"""DataReference: a path on a datastore and how a run sees it (azureml-core v1 names).

Invariants:
- `str(ref)` is `$RUNYARD_DATAREFERENCE_<name>`, the token that stands for the local path
  in a run's arguments; the supervisor replaces it, and sets the environment variables
  `RUNYARD_DATAREFERENCE_<name>` and `AZUREML_DATAREFERENCE_<name>` to the same path.
- The name defaults to the datastore's name (as Azure's `as_mount()`); it is 1-255
  letters, digits or '_', because it becomes part of an environment variable's name.
- A DataReference is a value: `path()`, `as_mount()` and `as_download()` return new ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.data.datastore import datastore_name, datastore_path
from runyard.errors import UnknownDatastoreError, ValidationError

if TYPE_CHECKING:
    from runyard.data.datastore import Datastore

TOKEN_PREFIX = "$RUNYARD_DATAREFERENCE_"
MODES = ("mount", "download")


class DataReference:
    """A path on a datastore that a run reads as a local folder (or file).

    mode "mount": a file:// datastore's folder itself, read and written in place (other
    stores are copied, as there is no mount). mode "download": a copy made in the run's
    working directory before the script starts, at `path_on_compute` (default: the
    reference's name).

    Example:
        >>> ref = ws.get_default_datastore().path("mnist").as_download()   # doctest: +SKIP
        >>> ScriptRunConfig(".", "train.py", arguments=["--data-folder", ref])  # doctest: +SKIP
    """

    def __init__(self, datastore: Datastore, data_reference_name: str | None = None,
                 path_on_datastore: str | None = None, mode: str = "mount",
                 path_on_compute: str | None = None, overwrite: bool = False) -> None:
        from runyard.data.datastore import Datastore

        if not isinstance(datastore, Datastore):
            raise ValidationError(f"DataReference needs a runyard Datastore, got "
                                  f"{type(datastore).__name__}")
        if mode not in MODES:
            raise ValidationError(f"DataReference mode {mode!r} is not supported; use one "
                                  f"of {', '.join(MODES)}", mode=mode, valid=list(MODES))
        self.datastore = datastore
        self.data_reference_name = datastore_name(
            data_reference_name if data_reference_name is not None else datastore.name,
            what="data_reference_name")
        self.path_on_datastore = datastore_path(path_on_datastore,
                                                what="path_on_datastore") or None
        self.mode = mode
        self.path_on_compute = (datastore_path(path_on_compute, what="path_on_compute")
                                or None)
        self.overwrite = bool(overwrite)

    # -- new references ----------------------------------------------------------------------
    def _with(self, **changes: Any) -> DataReference:
        values: dict[str, Any] = {
            "data_reference_name": self.data_reference_name,
            "path_on_datastore": self.path_on_datastore, "mode": self.mode,
            "path_on_compute": self.path_on_compute, "overwrite": self.overwrite}
        values.update(changes)
        return DataReference(self.datastore, **values)

    def path(self, path: str | None = None,
             data_reference_name: str | None = None) -> DataReference:
        """A reference to `path` below this one's path, same datastore and mode."""
        relative = datastore_path(path)
        joined = "/".join(p for p in (self.path_on_datastore, relative) if p) or None
        return self._with(path_on_datastore=joined,
                          data_reference_name=data_reference_name or self.data_reference_name)

    def as_mount(self) -> DataReference:
        """This path, seen in place by the run (mode "mount")."""
        return self._with(mode="mount", path_on_compute=None)

    def as_download(self, path_on_compute: str | None = None,
                    overwrite: bool = False) -> DataReference:
        """This path, copied into the run's working directory before it starts, at
        `path_on_compute` (default: the reference's name)."""
        return self._with(mode="download", path_on_compute=path_on_compute,
                          overwrite=overwrite)

    # -- in a run ------------------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        """What the supervisor needs to make this reference a local path; checks that the
        datastore is still registered (a submit with a missing one fails at once)."""
        workspace = self.datastore.workspace
        if workspace.store.get_datastore(self.datastore.name) is None:
            known = sorted(r["name"] for r in workspace.store.list_datastores())
            raise UnknownDatastoreError(
                f"data reference {self.data_reference_name!r} uses datastore "
                f"{self.datastore.name!r}, which is not registered in workspace "
                f"{workspace.name!r} (known: {', '.join(known) or 'none'}); register it "
                f"with Datastore.register(ws, name, url)",
                name=self.datastore.name, valid=known)
        return {
            "name": self.data_reference_name,
            "datastore": self.datastore.name,
            "url": self.datastore.url,
            "path_on_datastore": self.path_on_datastore,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
            "overwrite": self.overwrite,
        }

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.data_reference_name}"

    def __repr__(self) -> str:
        return (f"DataReference(datastore={self.datastore.name!r}, "
                f"data_reference_name={self.data_reference_name!r}, "
                f"path_on_datastore={self.path_on_datastore!r}, mode={self.mode!r}, "
                f"path_on_compute={self.path_on_compute!r})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DataReference) and other.datastore == self.datastore
                and other._identity() == self._identity())

    def __hash__(self) -> int:
        return hash((self.datastore, self._identity()))

    def _identity(self) -> tuple[str, str | None, str, str | None, bool]:
        return (self.data_reference_name, self.path_on_datastore, self.mode,
                self.path_on_compute, self.overwrite)
