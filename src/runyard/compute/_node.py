"""Preparing one node for a run, the same on every compute: the environment (built or
reused from the node's cache), the working directory (the snapshot and ./outputs) and the
data references. The local executor does it for this machine; a cluster's executor has
it done once on each node (on Ray by the node agents).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard._spec import RunSpec
from runyard.compute.executor import failed
from runyard.environment import EnvironmentCache, PreparedEnvironment
from runyard.errors import EnvironmentBuildError
from runyard.workspace import Workspace


@dataclass
class NodeEnvironment:
    """The run's interpreter on this node, the environment holding it (released after
    the run) and runyard's in-run shim where the interpreter is not runyard's own."""

    interpreter: str
    prepared: PreparedEnvironment | None = None
    shim: Path | None = None

    def release(self) -> None:
        if self.prepared is not None:
            self.prepared.release()
            self.prepared = None


@dataclass
class WorkingDirectory:
    path: Path
    files: int
    arguments: list[str]
    data_environment: dict[str, str] = field(default_factory=dict)


def _spec(spec: RunSpec | Mapping[str, Any]) -> RunSpec:
    """The run's spec, or its JSON (what a cluster's node agent is sent)."""
    return spec if isinstance(spec, RunSpec) else RunSpec.from_json(spec)


def prepare_environment(spec: RunSpec | Mapping[str, Any], logs: Path,
                        say: Callable[[str], None],
                        check_cancel: Callable[[], None] = lambda: None) -> NodeEnvironment:
    """Build or reuse the run's environment on this node (in a thread, so that
    `check_cancel` is called meanwhile), or take the user-managed interpreter; a failure
    is a StopRun naming it."""
    from runyard.environment._shim import ensure_runtime_shim

    environment = _spec(spec).environment
    if environment is not None and not environment.user_managed:
        assert environment.spec is not None, "a built environment has a build spec"
        node = _build(environment.spec, logs, say, check_cancel)
    else:
        interpreter = ((environment.interpreter_path if environment is not None else None)
                       or _spec(spec).interpreter or sys.executable)
        say(f"environment: user-managed, interpreter {interpreter}")
        node = NodeEnvironment(interpreter)
    if not os.access(node.interpreter, os.X_OK):
        node.release()
        raise failed(f"interpreter {node.interpreter} is not there or not executable")
    if node.interpreter != sys.executable:
        node.shim = ensure_runtime_shim(EnvironmentCache().root)
    return node


def _build(spec: dict[str, Any], logs: Path, say: Callable[[str], None],
           check_cancel: Callable[[], None]) -> NodeEnvironment:
    cache = EnvironmentCache()
    outcome: dict[str, Any] = {}

    def work() -> None:
        with open(logs / "environment.txt", "a", buffering=1) as log:
            try:
                outcome["prepared"] = cache.prepare(spec, log, on_wait=say)
            except BaseException as e:  # noqa: BLE001 - handed to the calling thread
                outcome["error"] = e

    builder = threading.Thread(target=work, name="environment", daemon=True)
    builder.start()
    while builder.is_alive():
        check_cancel()
        builder.join(0.25)
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, EnvironmentBuildError):
            raise failed(f"environment build failed: {error}")
        raise error
    prepared: PreparedEnvironment = outcome["prepared"]
    say(f"environment {prepared.hash[:12]}: "
        f"{'cache hit' if prepared.cache_hit else 'built'} in {prepared.seconds:.2f} s, "
        f"interpreter {prepared.interpreter}")
    return NodeEnvironment(str(prepared.interpreter), prepared)


def prepare_working_directory(ws: Workspace, spec: RunSpec | Mapping[str, Any],
                              snapshot_id: str, path: Path,
                              say: Callable[[str], None]) -> WorkingDirectory:
    """The snapshot materialized in `path`, with ./outputs; DataReferences in the
    arguments become local paths (runyard.data): the tokens replaced, their environment
    variables returned."""
    from runyard.artifacts import snapshot

    count = snapshot.materialize(snapshot_id, ws.artifacts, path)
    (path / "outputs").mkdir(exist_ok=True)
    say(f"working directory {path} with {count} files from snapshot {snapshot_id[:12]}")
    submitted = _spec(spec)
    found = WorkingDirectory(path, count, list(submitted.arguments))
    if submitted.data_references:
        from runyard.data import apply_data_references
        from runyard.errors import RunyardError

        try:
            found.arguments, found.data_environment = apply_data_references(
                ws, submitted.data_references, found.arguments, path, say)
        except (RunyardError, OSError) as e:
            raise failed(f"could not make the data references available: {e}") from e
    return found
