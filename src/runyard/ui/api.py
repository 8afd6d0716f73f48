"""The REST API under `/api/v1/`: what the pages, the notebook widget and scripts read.

Routes (FastAPI writes the OpenAPI schema at `/api/v1/openapi.json`, browsable at
`/api/docs`):

    GET  /api/v1/session                      token in use?, the CSRF token for POSTs
    GET  /api/v1/experiments
    GET  /api/v1/runs                         paged, sorted, filtered on the server
    GET  /api/v1/runs/{id}                    details, stages with durations, tags, error
    GET  /api/v1/runs/{id}/children
    GET  /api/v1/runs/{id}/metrics            names (kind, count)
    GET  /api/v1/runs/{id}/metrics/series     one metric in N buckets, exact min/max each
    GET  /api/v1/runs/{id}/logs               the logs and their sizes
    GET  /api/v1/runs/{id}/logs/read          a byte range or a line range of one log
    GET  /api/v1/runs/{id}/logs/stream        Server-Sent Events: new lines as written
    GET  /api/v1/runs/{id}/files              the run's files (a prefix)
    GET  /api/v1/runs/{id}/files/{path}       one file's bytes (path-safe)
    POST /api/v1/runs/{id}/cancel             (token or CSRF token: runyard.ui._auth)
    POST /api/v1/runs/{id}/tags               set and remove tags
    GET  /api/v1/models, /api/v1/models/{name}
    GET  /api/v1/compute, /api/v1/compute/{name}   targets; one's nodes and queued runs

Invariants:
- Routes read through the SDK's own paths (`Run`, the store, the artifact store), so a
  path the SDK refuses (`..`, absolute, NUL: `runyard._validation.artifact_path`) is
  refused here with the same message, as 400; nothing is read outside a run's files.
- No GET changes anything (the one exception the SDK itself makes: reading an active
  run whose supervisor died marks it Failed, as `Run.get_status()` does).
- A run file is sent as an attachment unless it is an image or plain text asked for
  `inline`, always with `X-Content-Type-Options: nosniff` and a sandboxing CSP, so a
  run's `outputs/page.html` can never run script in the UI's origin.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from runyard import _status, _validation
from runyard.errors import (
    ArtifactNotFoundError,
    ArtifactStoreUnavailableError,
    ModelNotFoundError,
    RunyardError,
    StoreConflictError,
    StoreLockedError,
    StoreUnavailableError,
    ValidationError,
)
from runyard.run import Run
from runyard.ui import _auth
from runyard.workspace import Workspace

router = APIRouter(prefix="/api/v1")

MAX_PAGE = 1000
MAX_LOG_BYTES = 8 << 20
STREAM_POLL_SECONDS = 0.1
STREAM_PING_SECONDS = 10.0
_INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "text/plain")
_FILE_HEADERS = {"X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'"}


def _workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def _run(request: Request, run_id: str) -> Run:
    run = Run.get(_workspace(request), run_id)
    run._fetch()  # reconciled: an active run whose supervisor died reads as Failed
    return run


def _duration(row: dict[str, Any]) -> float | None:
    start = row.get("start_time")
    if start is None:
        return None
    end = row.get("end_time") or (None if row["status"] in _status.TERMINAL else time.time())
    return None if end is None else round(end - start, 3)


def run_summary(row: dict[str, Any]) -> dict[str, Any]:
    """One run as the runs table shows it (a store row, or a search result row)."""
    summary = {key: row.get(key) for key in (
        "id", "experiment", "number", "display_name", "status", "compute_target",
        "parent_id", "created_at", "start_time", "end_time", "error")}
    summary["duration_seconds"] = _duration(row)
    if row.get("duration") is not None and summary["duration_seconds"] is None:
        summary["duration_seconds"] = row["duration"]
    for key in ("tags", "metrics"):
        if key in row:
            summary[key] = row[key]
    return summary


# -- session and experiments ----------------------------------------------------------------
@router.get("/session", summary="How this server checks access")
def session(request: Request) -> dict[str, Any]:
    """Whether a token is needed, and the CSRF token a page sends with each POST as the
    `X-Runyard-CSRF` header (a page of another origin cannot read it)."""
    auth: _auth.Auth = request.app.state.auth
    return {"token_required": auth.token is not None, "csrf_token": auth.csrf_token,
            "csrf_header": "X-Runyard-CSRF", "workspace": _workspace(request).name}


@router.get("/experiments", summary="Experiments")
def experiments(request: Request) -> list[dict[str, Any]]:
    return [{key: row.get(key) for key in ("name", "created_at", "tags", "archived_at")}
            for row in _workspace(request).store.list_experiments()]


# -- runs -----------------------------------------------------------------------------------
SortKey = Annotated[str, Query(
    description="start, created, duration, name, status, or metric:NAME (the metric's "
                "latest value; runs without it come last)")]


@router.get("/runs", summary="Runs: paged, sorted and filtered on the server")
def runs(
    request: Request,
    experiment: str | None = None,
    status: Annotated[list[str] | None, Query(description="any of these statuses")] = None,
    tag: Annotated[list[str] | None, Query(
        description="KEY (has the tag) or KEY=VALUE; every one must match")] = None,
    metric: Annotated[list[str] | None, Query(
        description="NAME OP NUMBER on the metric's latest value, OP one of < <= > >= = "
                    "!=, e.g. accuracy>=0.9; every one must match")] = None,
    q: Annotated[str | None, Query(description="text in the run's name or id")] = None,
    parent: Annotated[str | None, Query(description="only children of this run")] = None,
    sort: SortKey = "start",
    order: Literal["asc", "desc"] = "desc",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    columns: Annotated[list[str] | None, Query(
        description="metrics whose latest values each run row carries")] = None,
) -> dict[str, Any]:
    from runyard.store import _queries

    page = _queries.search_runs(
        _workspace(request).store, experiment=experiment, status=status or None,
        tags=_tag_filters(tag or []), metric_filters=[_metric_filter(m) for m in metric or []],
        text=q, parent_id=parent, order_by=("-" if order == "desc" else "") + sort,
        offset=offset, limit=limit, metric_columns=columns or [])
    return {"total": page.total, "offset": page.offset, "limit": page.limit,
            "runs": [run_summary(row) for row in page.runs]}


def _tag_filters(given: list[str]) -> dict[str, str | None]:
    filters: dict[str, str | None] = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not key:
            raise ValidationError(f"tag filter {item!r} has no key; use KEY or KEY=VALUE",
                                  filter=item)
        filters[key] = value if sep else None
    return filters


_OPERATORS = ("<=", ">=", "!=", "==", "<", ">", "=")


def _metric_filter(given: str) -> tuple[str, str, float]:
    for op in _OPERATORS:
        name, sep, number = given.partition(op)
        if sep and name.strip():
            try:
                value = float(number)
            except ValueError:
                break
            return name.strip(), "=" if op == "==" else op, value
    raise ValidationError(f"metric filter {given!r} is not NAME OP NUMBER with OP one of "
                          f"< <= > >= = != (e.g. accuracy>=0.9)", filter=given)


@router.get("/runs/{run_id}", summary="One run: details, stages with durations, tags, error")
def run_details(request: Request, run_id: str) -> dict[str, Any]:
    run = _run(request, run_id)
    row = run._cached
    store = run.workspace.store
    events = store.status_events(run_id)
    stages = []
    for index, event in enumerate(events):
        end = events[index + 1]["time"] if index + 1 < len(events) else None
        if end is None and row["status"] not in _status.TERMINAL:
            duration: float | None = round(time.time() - event["time"], 3)
        else:
            duration = None if end is None else round(end - event["time"], 3)
        stages.append({"status": event["status"], "start": event["time"], "end": end,
                       "duration_seconds": duration, "detail": event["detail"]})
    config = row["config"] or {}
    details = run_summary(row)
    details.update({
        "tags": store.get_tags(run_id), "properties": store.get_properties(run_id),
        "stages": stages, "warnings": store.get_warnings(run_id),
        "snapshot_id": row["snapshot_id"],
        "cancel_requested": row.get("cancel_requested_at") is not None,
        "kind": config.get("kind"), "script": config.get("script"),
        "arguments": config.get("arguments"),
        "environment": (config.get("environment") or {}).get("name"),
        "config": config, "logs": run._log_names(),
        "children": len(store.list_runs(parent_id=run_id)),
    })
    return details


@router.get("/runs/{run_id}/children", summary="A run's child runs")
def children(request: Request, run_id: str) -> list[dict[str, Any]]:
    store = _workspace(request).store
    store.get_run(run_id)  # 404 for an unknown run rather than an empty list
    rows = store.list_runs(parent_id=run_id)
    return [run_summary(row) for row in sorted(rows, key=lambda r: r["number"])]


@router.post("/runs/{run_id}/cancel", summary="Ask a run to stop")
def cancel(request: Request, run_id: str) -> dict[str, Any]:
    run = _run(request, run_id)
    run.cancel()
    row = run._fetch()
    return {"id": run_id, "status": row["status"],
            "cancel_requested": row.get("cancel_requested_at") is not None
            or row["status"] == _status.CANCELED}


@router.post("/runs/{run_id}/tags", summary="Set and remove a run's tags")
def tag(request: Request, run_id: str,
        set_: Annotated[dict[str, str | None] | None, Body(
            alias="set", description="tags to set (a null value: a tag without a value)")]
        = None,
        remove: Annotated[list[str] | None, Body(description="tag keys to remove")] = None,
        ) -> dict[str, Any]:
    run = _run(request, run_id)
    if set_:
        run.set_tags(set_)
    if remove:
        run.remove_tags(remove)
    return {"id": run_id, "tags": run.workspace.store.get_tags(run_id)}


# -- metrics --------------------------------------------------------------------------------
@router.get("/runs/{run_id}/metrics", summary="A run's metric names")
def metric_names(request: Request, run_id: str) -> list[dict[str, Any]]:
    from runyard.store import _queries

    store = _workspace(request).store
    store.get_run(run_id)
    names = getattr(_queries, "metric_names", None)
    if names is not None:
        return list(names(store, run_id))
    found: dict[str, dict[str, Any]] = {}
    for point in store.get_metrics(run_id):
        entry = found.setdefault(point["name"], {"name": point["name"], "kind": point["kind"],
                                                 "count": 0})
        entry["count"] += 1
    return sorted(found.values(), key=lambda e: e["name"])


@router.get("/runs/{run_id}/metrics/series",
            summary="One metric downsampled on the server, exact min/max per bucket")
def metric_series(request: Request, run_id: str, name: str,
                  buckets: Annotated[int, Query(ge=1, le=100_000)] = 1000,
                  x: Literal["step", "time", "relative"] = "step",
                  rank: Annotated[int | None, Query(
                      ge=0, description="only the points this process logged")] = None,
                  ) -> dict[str, Any]:
    """Bucket `i` starts at `x[i]` and holds `count[i]` points with the exact `min[i]`
    and `max[i]` and the `mean[i]`; a metric with at most `buckets` points comes back
    point by point (`bucket_width` null)."""
    from runyard.store import _queries

    store = _workspace(request).store
    store.get_run(run_id)
    return _queries.metric_series(store, run_id, name, buckets=buckets, x=x,
                                  rank=rank).to_json()


# -- logs -----------------------------------------------------------------------------------
def _log_name(name: str) -> str:
    clean = _validation.artifact_path(name, what="log name")
    if not clean.startswith("logs/") or "/" in clean.removeprefix("logs/"):
        raise ValidationError(f"log name {name!r} is not a run's log; logs are named "
                              f"logs/NAME.txt", name=name)
    return clean


@router.get("/runs/{run_id}/logs", summary="A run's logs and their sizes")
def logs(request: Request, run_id: str) -> list[dict[str, Any]]:
    run = _run(request, run_id)
    return [{"name": name, "size": len(run.read_log(name))} for name in run._log_names()]


@router.get("/runs/{run_id}/logs/read", summary="A byte range or a line range of one log")
def read_log(
    request: Request, run_id: str,
    name: Annotated[str, Query(description="the log, e.g. logs/driver.txt")],
    offset: Annotated[int, Query(ge=0, description="byte to start at")] = 0,
    length: Annotated[int, Query(ge=1, le=MAX_LOG_BYTES)] = 1 << 20,
    first_line: Annotated[int | None, Query(
        ge=0, description="with `lines`: a line range (0-based) instead of bytes")] = None,
    lines: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """Bytes mode: the text from `offset`, ending at the last complete line within
    `length` bytes (a line longer than `length` comes cut), and `next_offset` to read on
    from. Lines mode (`first_line`): up to `lines` lines from that one, and `total_lines`."""
    run = _run(request, run_id)
    clean = _log_name(name)
    if clean not in run._log_names():
        raise ArtifactNotFoundError(f"run {run_id} has no log {clean!r}; its logs: "
                                    f"{', '.join(run._log_names()) or 'none'}",
                                    run_id=run_id, name=clean)
    if first_line is not None:
        text = run.read_log(clean).decode("utf-8", "replace")
        all_lines = text.splitlines()
        return {"name": clean, "first_line": first_line,
                "lines": all_lines[first_line:first_line + lines],
                "total_lines": len(all_lines)}
    data = run.read_log(clean, offset)
    size = offset + len(data)
    chunk = data[:length]
    if len(data) > length and b"\n" in chunk:
        chunk = chunk[:chunk.rindex(b"\n") + 1]
    return {"name": clean, "offset": offset, "next_offset": offset + len(chunk),
            "size": size, "text": chunk.decode("utf-8", "replace")}


class _LogTail:
    """The lines appended to a run's logs since the last `step()` (`runyard._follow`'s
    rules: the row is read first, so logs read after it shows an end are whole; each
    line once, when complete; the rest at the end)."""

    def __init__(self, run: Run, names: list[str] | None, from_end: bool) -> None:
        self.run = run
        self.names = names
        self.offsets: dict[str, int] = {}
        self.partial: dict[str, bytes] = {}
        if from_end:
            for name in self._names():
                self.offsets[name] = len(run.read_log(name))

    def _names(self) -> list[str]:
        from runyard._follow import SUPERVISOR_LOG

        found = self.run._log_names()
        if self.names is not None:
            return [name for name in found if name in self.names]
        return [name for name in found if name.endswith(".txt") and name != SUPERVISOR_LOG]

    def step(self) -> tuple[str, list[tuple[str, str]]]:
        status = str(self.run._fetch()["status"])
        new: list[tuple[str, str]] = []
        for name in self._names():
            data = self.run.read_log(name, self.offsets.get(name, 0))
            if not data:
                continue
            self.offsets[name] = self.offsets.get(name, 0) + len(data)
            pieces = (self.partial.pop(name, b"") + data).split(b"\n")
            if pieces[-1]:
                self.partial[name] = pieces[-1]
            new += [(name, raw.decode("utf-8", "replace")) for raw in pieces[:-1]]
        if status in _status.TERMINAL:
            new += [(name, rest.decode("utf-8", "replace"))
                    for name, rest in sorted(self.partial.items())]
            self.partial.clear()
        return status, new


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


@router.get("/runs/{run_id}/logs/stream", summary="New log lines as they are written (SSE)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
def stream_logs(
    request: Request, run_id: str,
    name: Annotated[list[str] | None, Query(
        description="logs to follow (default: every process log and the environment's)")]
    = None,
    from_end: Annotated[bool, Query(description="skip what the logs hold already")] = False,
) -> StreamingResponse:
    """Server-Sent Events: `line` events `{"name", "line"}` while the run writes, then
    one `end` event `{"status"}` once the run has ended and its logs are read whole."""
    run = _run(request, run_id)
    tail = _LogTail(run, [_log_name(n) for n in name] if name else None, from_end)

    async def events() -> AsyncIterator[str]:
        last_sent = time.monotonic()
        while True:
            status, lines = await anyio.to_thread.run_sync(tail.step)
            for log, line in lines:
                yield _event("line", {"name": log, "line": line})
            if status in _status.TERMINAL:
                yield _event("end", {"status": status})
                return
            if lines:
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > STREAM_PING_SECONDS:
                yield ": ping\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# -- files ----------------------------------------------------------------------------------
@router.get("/runs/{run_id}/files", summary="A run's files")
def files(request: Request, run_id: str, prefix: str = "") -> list[dict[str, Any]]:
    store = _workspace(request).store
    store.get_run(run_id)
    return store.list_files(run_id, _validation.artifact_prefix(prefix))


@router.get("/runs/{run_id}/files/{path:path}", summary="One file of a run (path-safe)",
            response_class=StreamingResponse)
def download(request: Request, run_id: str, path: str,
             inline: Annotated[bool, Query(
                 description="show an image or text file in the page (others download)")]
             = False) -> StreamingResponse:
    workspace = _workspace(request)
    clean = _validation.artifact_path(path, what="file name")
    workspace.store.get_run(run_id)
    listed = {f["path"]: f for f in workspace.store.list_files(run_id, clean)}
    if clean not in listed:
        raise ArtifactNotFoundError(f"run {run_id} has no file {clean!r}", run_id=run_id,
                                    name=clean)
    handle = workspace.artifacts.open(f"runs/{run_id}/{clean}")
    kind = mimetypes.guess_type(clean)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "application/x-yaml"):
        kind = "text/plain" if kind != "text/plain" else kind
    shown = inline and kind in _INLINE_TYPES
    filename = clean.rsplit("/", 1)[-1].replace('"', "_").replace("\\", "_")
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    from urllib.parse import quote

    disposition = (f'{"inline" if shown else "attachment"}; filename="{ascii_name}"; '
                   f"filename*=UTF-8''{quote(filename)}")
    headers = {**_FILE_HEADERS, "Content-Disposition": disposition,
               "Content-Length": str(listed[clean]["size"])}
    media = f"{kind}; charset=utf-8" if kind == "text/plain" else kind

    def chunks() -> Iterator[bytes]:
        with handle:
            while block := handle.read(1 << 20):
                yield block

    return StreamingResponse(chunks(), media_type=media, headers=headers)


# -- models and compute ---------------------------------------------------------------------
_MODEL_KEYS = ("name", "version", "description", "framework", "framework_version", "tags",
               "properties", "run_id", "experiment", "created_at")


def _model(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in _MODEL_KEYS}


@router.get("/models", summary="Registered models, the latest version of each")
def models(request: Request) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for row in _workspace(request).store.list_models():
        latest.setdefault(row["name"], {**_model(row), "versions": 0})["versions"] += 1
    return list(latest.values())


@router.get("/models/{name}", summary="Every version of one model")
def model_versions(request: Request, name: str) -> list[dict[str, Any]]:
    rows = _workspace(request).store.list_models(name)
    if not rows:
        raise ModelNotFoundError(f"no model named {name!r} is registered", name=name)
    return [_model(row) for row in rows]


@router.get("/compute", summary="Compute targets")
def compute_targets(request: Request) -> list[dict[str, Any]]:
    from runyard.compute import list_compute_targets

    return [{"name": target.name, "type": target.type, "config": target.config}
            for target in list_compute_targets(_workspace(request))]


@router.get("/compute/{name}", summary="One compute target: its state, nodes, queued runs")
def compute_target(request: Request, name: str) -> dict[str, Any]:
    from runyard.compute import get_compute_target

    workspace = _workspace(request)
    target = get_compute_target(workspace, name)
    described: dict[str, Any] = target.describe()
    active = [row for status in _status.LIFECYCLE if status not in _status.TERMINAL
              for row in workspace.store.list_runs(status=status)
              if row["compute_target"] == name]
    active.sort(key=lambda row: row["created_at"])
    return {"name": target.name, "type": target.type, "config": target.config,
            "status": described, "nodes": described.get("nodes", []),
            "active_runs": [run_summary(row) for row in active]}


# -- errors ---------------------------------------------------------------------------------
def error_status(error: BaseException) -> int:
    """The HTTP status of a runyard error: not found 404, bad input 400, a conflict 409,
    the store or artifact store unreachable 503, anything else 500."""
    if isinstance(error, StoreConflictError | FileExistsError):
        return 409
    if isinstance(error, ValidationError):
        return 400
    if isinstance(error, KeyError | FileNotFoundError):
        return 404
    if isinstance(error, StoreUnavailableError | StoreLockedError |
                  ArtifactStoreUnavailableError):
        return 503
    return 500


def _message(error: BaseException) -> str:
    if isinstance(error, KeyError) and not isinstance(error, RunyardError) and error.args:
        return str(error.args[0])
    return str(error) or type(error).__name__


async def _runyard_error(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"error": type(error).__name__, "message": _message(error)},
                        status_code=error_status(error))


def install(app: FastAPI) -> None:
    """Add the API's routes and its error mapping to `app`."""
    app.include_router(router)
    app.add_exception_handler(RunyardError, _runyard_error)
    app.add_exception_handler(KeyError, _runyard_error)
