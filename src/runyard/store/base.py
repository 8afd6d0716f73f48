"""The run history contract, and the registry that picks a backend by URL scheme.

Invariant: the client and the supervisor speak to the run history only through
`AbstractStore`; nothing outside `store/` knows which database is underneath.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from runyard._registry import Registry
from runyard.errors import UnknownBackendError


class MetricRow(NamedTuple):
    """One metric point as the store takes it: a scalar has `value` (a number) or `text`
    (a string), the other kinds (list, row, table, image, v1table) their JSON in `text`."""

    run_id: str
    name: str
    kind: str               # s (scalar) | list | row | table | image | v1table
    step: int | None
    value: float | None
    text: str | None
    time: float             # seconds since the epoch
    rank: int               # the process that logged it (0 for the client)


metric_row: Callable[[tuple[Any, ...]], MetricRow] = functools.partial(tuple.__new__, MetricRow)
"""`MetricRow` from one 8-tuple in field order, without the keyword handling of
`MetricRow(...)`: the ingest's hot path makes one per point (about twice as fast)."""


class AbstractStore(abc.ABC):
    """What runyard needs from a run history database."""

    url: str

    # experiments
    @abc.abstractmethod
    def ensure_experiment(self, name: str) -> int: ...
    @abc.abstractmethod
    def list_experiments(self) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def update_experiment_tags(self, name: str, tags: Mapping[str, str | None],
                               remove: Iterable[str] = ()) -> dict[str, str | None]:
        """Merge `tags` into an experiment's tags and drop the keys in `remove`, in one
        transaction; return the tags now stored (KeyError: no such experiment)."""
    @abc.abstractmethod
    def set_experiment_archived(self, name: str, archived_at: float | None) -> None:
        """Archive an experiment at `archived_at`, or reactivate it (None)."""
    @abc.abstractmethod
    def delete_experiment(self, name: str) -> None:
        """Remove an experiment that has no runs (ValueError if it has some)."""

    # runs and their lifecycle
    @abc.abstractmethod
    def create_run(
        self, run_id: str, experiment: str, *, compute_target: str | None,
        config: Mapping[str, Any] | None, snapshot_id: str | None,
        parent_id: str | None = None, display_name: str | None = None,
        status: str = "NotStarted", tags: Mapping[str, str] | None = None,
    ) -> None: ...
    @abc.abstractmethod
    def get_run(self, run_id: str) -> dict[str, Any]: ...
    @abc.abstractmethod
    def list_runs(
        self, *, experiment: str | None = None, status: str | None = None,
        parent_id: str | None = None, tags: Mapping[str, str | None] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def set_status(
        self, run_id: str, status: str, *, detail: str | None = None,
        error: str | None = None, only_if: Iterable[str] | None = None,
    ) -> bool: ...
    @abc.abstractmethod
    def status_events(self, run_id: str) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def claim_supervisor(self, run_id: str, pid: int, host: str) -> None: ...
    @abc.abstractmethod
    def heartbeat(self, run_id: str) -> None: ...
    @abc.abstractmethod
    def request_cancel(self, run_id: str) -> None: ...
    @abc.abstractmethod
    def set_display_name(self, run_id: str, display_name: str | None) -> None: ...
    @abc.abstractmethod
    def set_snapshot(self, run_id: str, snapshot_id: str) -> None:
        """Make `snapshot_id` the run's snapshot (v1's `run.take_snapshot`)."""

    # what a run records
    @abc.abstractmethod
    def insert_metrics(self, rows: Sequence[MetricRow]) -> None: ...
    @abc.abstractmethod
    def get_metrics(self, run_id: str, name: str | None = None) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def count_metrics(self, run_id: str) -> int: ...
    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> None: ...
    @abc.abstractmethod
    def get_tags(self, run_id: str) -> dict[str, str | None]: ...
    @abc.abstractmethod
    def remove_tags(self, run_id: str, keys: Iterable[str]) -> None: ...
    @abc.abstractmethod
    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None: ...
    @abc.abstractmethod
    def get_properties(self, run_id: str) -> dict[str, str | None]: ...
    @abc.abstractmethod
    def add_files(self, run_id: str, files: Iterable[tuple[str, int]]) -> None: ...
    @abc.abstractmethod
    def list_files(self, run_id: str, prefix: str = "") -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def add_warning(self, run_id: str, message: str, source: str = "runyard") -> None: ...
    @abc.abstractmethod
    def get_warnings(self, run_id: str) -> list[dict[str, Any]]:
        """[{"source", "message", "time"}] in the order they were added."""

    # environments
    @abc.abstractmethod
    def register_environment(self, name: str, definition: Mapping[str, Any],
                             spec_hash: str) -> int: ...
    @abc.abstractmethod
    def get_environment(self, name: str, version: int | None = None) -> dict[str, Any] | None: ...
    @abc.abstractmethod
    def list_environments(self) -> list[dict[str, Any]]: ...

    # datastores
    @abc.abstractmethod
    def put_datastore(self, name: str, url: str, options: Mapping[str, Any]) -> None: ...
    @abc.abstractmethod
    def get_datastore(self, name: str) -> dict[str, Any] | None: ...
    @abc.abstractmethod
    def list_datastores(self) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def delete_datastore(self, name: str) -> bool:
        """Forget a datastore's registration (its data stays); False if there was none."""
    @abc.abstractmethod
    def set_default_datastore(self, name: str) -> None:
        """Mark `name` the default datastore (options["default"]) and no other, in one
        transaction (KeyError: no such datastore)."""

    # the model registry
    @abc.abstractmethod
    def register_model(self, name: str, *, files: Mapping[str, Any],
                       run_id: str | None = None, experiment: str | None = None,
                       source_path: str | None = None, description: str | None = None,
                       framework: str | None = None, framework_version: str | None = None,
                       tags: Mapping[str, str] | None = None,
                       properties: Mapping[str, str] | None = None) -> int: ...
    @abc.abstractmethod
    def register_dataset(self, name: str, definition: Mapping[str, Any], *,
                         description: str | None, tags: Mapping[str, str],
                         create_new_version: bool) -> int: ...
    @abc.abstractmethod
    def get_dataset(self, name: str, version: int | None = None) -> dict[str, Any] | None: ...
    @abc.abstractmethod
    def list_datasets(self) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def update_dataset(self, name: str, version: int, *, description: str | None,
                       tags: Mapping[str, str] | None) -> None: ...
    @abc.abstractmethod
    def delete_dataset(self, name: str) -> None: ...
    @abc.abstractmethod
    def get_model(self, name: str, version: int | None = None) -> dict[str, Any] | None: ...
    @abc.abstractmethod
    def list_models(self, name: str | None = None) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def delete_model(self, name: str, version: int) -> bool:
        """Remove one version of a model from the registry; False if there was none."""
    @abc.abstractmethod
    def update_model_tags(self, name: str, version: int,
                          tags: Mapping[str, str | None]) -> dict[str, str]:
        """Merge `tags` into a model version's tags in one transaction (a None value
        removes the key); return the tags now stored."""
    @abc.abstractmethod
    def set_model_description(self, name: str, version: int,
                              description: str | None) -> None: ...
    @abc.abstractmethod
    def update_model_properties(self, name: str, version: int,
                                properties: Mapping[str, str]) -> dict[str, str]:
        """Add properties to a model version; a key already set to another value raises
        PropertyImmutableError and changes nothing. Return the properties now stored."""

    # compute targets
    @abc.abstractmethod
    def get_compute_target(self, name: str) -> dict[str, Any] | None: ...
    @abc.abstractmethod
    def put_compute_target(self, name: str, type_: str, config: Mapping[str, Any]) -> None: ...
    @abc.abstractmethod
    def list_compute_targets(self) -> list[dict[str, Any]]: ...
    @abc.abstractmethod
    def delete_compute_target(self, name: str) -> bool: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


_SQL = "runyard.store.sql:SqlStore"
#: run history backends by URL scheme; plugins: the `runyard.stores` entry-point group
STORES: Registry[AbstractStore] = Registry(
    "runyard.stores",
    {"sqlite": _SQL, "postgresql": _SQL, "postgresql+psycopg": _SQL, "postgresql+psycopg2": _SQL},
    lambda scheme, valid: UnknownBackendError(
        f"no run history backend for {scheme!r}; known schemes: {', '.join(valid)}",
        valid=valid))


def open_store(url: str) -> AbstractStore:
    """Open the run history at `url` (sqlite:///..., postgresql://...)."""
    scheme = url.split(":", 1)[0]
    if scheme not in STORES:
        raise UnknownBackendError(
            f"no run history backend for {scheme!r} in store URL {url!r}; "
            f"known schemes: {', '.join(STORES.names())}",
            url=url, valid=STORES.names(),
        )
    return STORES.get(scheme)(url)  # type: ignore[call-arg]
