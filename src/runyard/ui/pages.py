"""The UI's server-rendered pages: experiments, the runs table, a run's tabs, a sweep's
parent, models, compute targets and compare (`create_app` includes `router` and calls
`setup(app)`, which mounts the static files).

Invariants:
- Pages read the workspace the way the SDK does (its store, its artifact store); the
  charts and the live logs are drawn by the page's script from the REST API's JSON
  (`/api/v1/`: downsampled series with exact min/max per bucket, the log stream over SSE),
  so a page never carries a million points.
- Everything user-supplied reaches the HTML through Jinja2's autoescape; data for the
  scripts goes in with `tojson` (which escapes `<`, `>`, `&` and quotes). No template uses
  `|safe` on user data.
- A request with `HX-Request` (htmx: paging, sorting, filtering the runs table) gets the
  table fragment alone; without, the whole page.
"""

from __future__ import annotations

import json
import math
import mimetypes
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from runyard import _status
from runyard._format import duration_text as _duration
from runyard._format import run_duration as _run_duration
from runyard._local import human_size as _size
from runyard.errors import RunNotFoundError, ValidationError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from runyard.workspace import Workspace

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).parent
_STATIC = _HERE / "static"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
)

PAGE_SIZE = 50
MAX_COMPARE = 10
PREVIEW_BYTES = 256 * 1024
LOG_TAIL_BYTES = 256 * 1024
RUN_TABS = ("overview", "metrics", "images", "tables", "children", "outputs", "snapshot")
_WAITING = frozenset({_status.NOT_STARTED, _status.PREPARING, _status.QUEUED,
                      _status.SCALING, _status.STARTING})
SORTS = ("created", "start", "duration", "status", "name")
_TEXT_SUFFIXES = {".txt", ".log", ".json", ".py", ".yaml", ".yml", ".csv", ".md", ".cfg",
                  ".ini", ".toml", ".sh", ".out", ".err", ""}
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".gif": "image/gif", ".webp": "image/webp"}


def setup(app: FastAPI) -> None:
    """Serve the static files (htmx, uPlot, the UI's script and style) under /static/."""
    app.add_api_route("/static/{name:path}", _static_file, methods=["GET"],
                      include_in_schema=False)


_STATIC_FILES = {p.relative_to(_STATIC).as_posix(): p for p in _STATIC.rglob("*") if p.is_file()}


async def _static_file(name: str) -> Response:
    path = _STATIC_FILES.get(name)  # only the files shipped: no path is built from input
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=kind,
                        headers={"Cache-Control": "public, max-age=3600"})


# -- formatting helpers (template filters) --------------------------------------------------
def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return format(value, ".6g")
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _file_url(run_id: str, path: str) -> str:
    """The API's address of one run file, shown in the page (images, text)."""
    return f"/api/v1/runs/{quote(run_id, safe='')}/files/{quote(path)}?inline=true"


_env.filters.update(when=_when, duration=_duration, number=_number, size=_size)
_env.globals.update(file_url=_file_url, run_duration=lambda row: _run_duration(row))


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    context.setdefault("nav", "")
    html = _env.get_template(template).render(request=request, **context)
    return HTMLResponse(html)


def _workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def _not_found(request: Request, what: str) -> HTMLResponse:
    response = _render(request, "not_found.html", what=what)
    response.status_code = 404
    return response


def _summaries(store: Any, run_ids: Iterable[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """{run id: {metric: its summary (points, min_value, max_value, last_value, ...)}} for
    the numeric metrics of the runs, in one query: the store keeps these at ingest, so a
    run of a million points costs one row a metric here, never a read of its points."""
    import sqlalchemy as sa

    from runyard.store import _schema as t

    ids = list(dict.fromkeys(run_ids))
    found: dict[str, dict[str, dict[str, Any]]] = {run_id: {} for run_id in ids}
    if not ids:
        return found
    s = t.metric_summaries.c
    with store.engine.connect() as conn:
        for row in conn.execute(sa.select(t.metric_summaries).where(s.run_id.in_(ids))
                                .order_by(s.name)):
            found[row.run_id][row.name] = dict(row._mapping)
    return found


def _last_values(store: Any, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{run id: {numeric metric: its latest value}}."""
    return {run_id: {name: summary["last_value"] for name, summary in metrics.items()}
            for run_id, metrics in _summaries(store, run_ids).items()}


_NAMES = """
WITH RECURSIVE names(name) AS (
  SELECT MIN(name) FROM metrics WHERE run_id = :run
  UNION ALL
  SELECT (SELECT MIN(name) FROM metrics WHERE run_id = :run AND name > names.name)
  FROM names WHERE names.name IS NOT NULL
) SELECT name FROM names WHERE name IS NOT NULL
"""


def _metric_names(store: Any, run_id: str) -> list[str]:
    """Every metric name of a run, walking the (run_id, name) index one name at a time
    (a loose index scan: as many lookups as names, whatever the number of points)."""
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text(_NAMES), {"run": run_id})]


# -- experiments and runs -------------------------------------------------------------------
@router.get("/")
def index() -> RedirectResponse:
    return RedirectResponse("/experiments", status_code=303)


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request) -> HTMLResponse:
    store = _workspace(request).store
    experiments = store.list_experiments()
    counts = _run_counts(request)
    return _render(request, "experiments.html", nav="experiments", experiments=experiments,
                   counts=counts)


def _run_counts(request: Request) -> dict[str, int]:
    store = _workspace(request).store
    engine = getattr(store, "engine", None) or getattr(store, "_engine", None)
    if engine is None:
        return {}
    import sqlalchemy as sa

    from runyard.store import _schema as t

    query = (sa.select(t.experiments.c.name, sa.func.count(t.runs.c.id))
             .join(t.runs, t.runs.c.experiment_id == t.experiments.c.id)
             .where(t.runs.c.parent_id.is_(None)).group_by(t.experiments.c.name))
    with engine.connect() as conn:
        return {name: int(count) for name, count in conn.execute(query)}


class RunsQuery:
    """The runs table's state, from the query string (and back into links)."""

    def __init__(self, request: Request) -> None:
        q = request.query_params
        self.experiment = q.get("experiment") or None
        self.status = q.get("status") or None
        self.text = (q.get("q") or "").strip()
        self.tag = (q.get("tag") or "").strip()
        self.metrics = [m.strip() for m in (q.get("metrics") or "").split(",") if m.strip()]
        # as Azure studio's runs list: top-level runs, their children on their own pages
        self.children = q.get("children") == "1"
        sort = q.get("sort") or "created"
        self.sort = sort if sort in SORTS or sort.startswith("metric:") else "created"
        self.order = "asc" if q.get("order") == "asc" else "desc"
        try:
            self.page = max(1, int(q.get("page") or 1))
        except ValueError:
            self.page = 1

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "experiment": self.experiment, "status": self.status, "q": self.text,
            "tag": self.tag, "metrics": ",".join(self.metrics), "sort": self.sort,
            "order": self.order, "page": self.page, "children": "1" if self.children else "",
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "", 1) or
                (k == "page" and v != 1)}

    def url(self, **changes: Any) -> str:
        return "/runs?" + urlencode(self.params(**changes))

    def sort_url(self, column: str) -> str:
        order = "asc" if self.sort == column and self.order == "desc" else "desc"
        return self.url(sort=column, order=order, page=1)

    def tag_filter(self) -> dict[str, str | None]:
        if not self.tag:
            return {}
        key, sep, value = self.tag.partition("=")
        return {key.strip(): value.strip() if sep else None}


def _search(request: Request, query: RunsQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of runs and how many match, sorted and filtered in the database."""
    from runyard.store import _queries

    page = _queries.search_runs(
        _workspace(request).store, experiment=query.experiment, status=query.status,
        tags=query.tag_filter() or None, text=query.text or None,
        order_by=("-" if query.order == "desc" else "") + query.sort,
        offset=(query.page - 1) * PAGE_SIZE, limit=PAGE_SIZE, metric_columns=query.metrics,
        top_level=not query.children)
    return page.runs, page.total


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    query = RunsQuery(request)
    problem = None
    try:
        rows, total = _search(request, query)
    except ValidationError as e:
        rows, total, problem = [], 0, str(e)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    context: dict[str, Any] = {
        "nav": "runs", "runs": rows, "total": total, "query": query, "pages": pages,
        "problem": problem,
        "statuses": [str(s) for s in _status.LIFECYCLE],
        "experiments": [e["name"] for e in _workspace(request).store.list_experiments()],
    }
    if request.headers.get("HX-Request"):
        return _render(request, "_runs_table.html", **context)
    return _render(request, "runs.html", **context)


# -- one run --------------------------------------------------------------------------------
def _run_context(request: Request, run_id: str) -> dict[str, Any] | None:
    from runyard.run import Run

    workspace = _workspace(request)
    try:
        run = Run.get(workspace, run_id)
        row = workspace.store.get_run(run_id)
    except RunNotFoundError:
        return None
    config = row["config"] or {}
    children = workspace.store.list_runs(parent_id=run_id)
    from runyard.hyperdrive.run import SWEEP_KIND

    is_sweep = config.get("kind") == SWEEP_KIND
    return {"run": run, "row": row, "config": config, "children": children,
            "is_sweep": is_sweep, "tags": workspace.store.get_tags(run_id),
            "properties": workspace.store.get_properties(run_id),
            "active": row["status"] not in _status.TERMINAL,
            "duration": _run_duration(row), "tabs": _tabs(is_sweep)}


def _tabs(is_sweep: bool) -> list[tuple[str, str]]:
    names = {"overview": "Overview", "metrics": "Metrics", "images": "Images",
             "tables": "Tables", "children": "Child runs", "outputs": "Outputs + logs",
             "snapshot": "Snapshot", "sweep": "Sweep"}
    tabs = list(RUN_TABS)
    if is_sweep:
        tabs.insert(1, "sweep")
    return [(tab, names[tab]) for tab in tabs]


def _stages(workspace: Workspace, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    events = workspace.store.status_events(row["id"])
    now = time.time()
    stages = []
    for index, event in enumerate(events):
        last = index + 1 == len(events)
        end = events[index + 1]["time"] if not last else (
            None if event["status"] in _status.TERMINAL else now)
        stages.append({"status": event["status"], "start": event["time"], "end": end,
                       "seconds": None if end is None else max(0.0, end - event["time"]),
                       "detail": event["detail"], "ongoing": last and end is not None})
    timed = [s for s in stages if s["seconds"] is not None]
    total = sum(s["seconds"] for s in timed) or 1.0
    for stage in stages:
        stage["percent"] = 0.0 if stage["seconds"] is None else \
            max(0.5, 100.0 * stage["seconds"] / total)
    return stages


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_overview(request: Request, run_id: str) -> HTMLResponse:
    return run_tab(request, run_id, "overview")


@router.get("/runs/{run_id}/{tab}", response_class=HTMLResponse)
def run_tab(request: Request, run_id: str, tab: str) -> HTMLResponse:
    context = _run_context(request, run_id)
    if context is None:
        return _not_found(request, f"run {run_id}")
    if tab not in dict(context["tabs"]):
        return _not_found(request, f"tab {tab} of run {run_id}")
    workspace = _workspace(request)
    context.update(nav="runs", tab=tab)
    store = workspace.store
    if tab == "overview":
        context["stages"] = _stages(workspace, context["row"])
        context["warnings"] = store.get_warnings(run_id)
        context["environment"] = _environment(context["config"])
    elif tab in ("metrics", "tables", "images"):
        numeric = _summaries(store, [run_id])[run_id]
        rows = [point for name in _metric_names(store, run_id) if name not in numeric
                for point in store.get_metrics(run_id, name)]
        context.update(_metric_views(numeric, rows))
    elif tab == "children":
        context["child_rows"] = _with_metrics(store, context["children"])
        context["child_metric_names"] = sorted({n for c in context["child_rows"]
                                                for n in c["metric_values"]})
    elif tab == "outputs":
        context.update(_outputs(request, context))
    elif tab == "snapshot":
        context["snapshot"] = _snapshot_files(workspace, context["row"],
                                              request.query_params.get("path") or "")
    elif tab == "sweep":
        context.update(_sweep(workspace, context))
    return _render(request, "run.html", **context)


def _environment(config: Mapping[str, Any]) -> Any:
    for key in ("environment", "env"):
        if config.get(key):
            return config[key]
    return None


def _metric_views(numeric: Mapping[str, Mapping[str, Any]],
                  rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the metrics, tables and images tabs show: the numeric metrics from their
    summaries, everything else (text values, lists, rows, tables, images) from its points."""
    scalars: dict[str, dict[str, Any]] = {
        name: {"count": summary["points"], "last": summary["last_value"], "numeric": True}
        for name, summary in numeric.items()}
    tables: dict[str, dict[str, list[Any]]] = {}
    images: dict[str, list[str]] = {}
    lists: dict[str, Any] = {}
    for row in rows:
        name, kind = row["name"], row["kind"]
        if kind == "s":
            entry = scalars.setdefault(name, {"count": 0, "last": None, "numeric": False})
            entry["count"] += 1
            entry["last"] = row["value"] if row["value"] is not None else row["text"]
        elif kind == "image":
            images.setdefault(name, []).append(json.loads(row["text"]))
        elif kind in ("row", "table"):
            value = json.loads(row["text"])
            columns = tables.setdefault(name, {})
            if kind == "row":
                length = max((len(v) for v in columns.values()), default=0)
                for key, cell in value.items():
                    columns.setdefault(key, [None] * length).append(cell)
                for column in columns.values():
                    column.extend([None] * (length + 1 - len(column)))
            else:
                for key, cells in value.items():
                    columns.setdefault(key, []).extend(cells)
        elif kind == "list":
            lists[name] = json.loads(row["text"])
        else:
            lists[name] = json.loads(row["text"])
    table_rows = {name: {"columns": list(cols),
                         "rows": [list(r) for r in zip(*cols.values(), strict=False)]}
                  for name, cols in tables.items()}
    return {"scalars": scalars, "tables": table_rows, "images": images, "lists": lists,
            "chart_names": [n for n, e in scalars.items() if e["numeric"]]}


def _with_metrics(store: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    last = _last_values(store, [row["id"] for row in rows])
    for row in rows:
        item = dict(row)
        item["metric_values"] = last[row["id"]]
        item["tags"] = store.get_tags(row["id"])
        result.append(item)
    return result


def _outputs(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    run = context["run"]
    files = run.workspace.store.list_files(run.id)
    from runyard._follow import SUPERVISOR_LOG

    logs = sorted(run._log_names(), key=lambda n: (n == SUPERVISOR_LOG, n))  # processes first
    selected = request.query_params.get("path") or ""
    preview: dict[str, Any] | None = None
    names = {f["path"] for f in files}
    if selected and selected in names:
        preview = _preview(run, selected, next(f["size"] for f in files
                                               if f["path"] == selected))
    log_texts = {}
    for name in logs:
        data = run.read_log(name)
        if context["active"] and b"\n" in data:  # whole lines: the stream sends the rest
            data = data[:data.rindex(b"\n") + 1]
        elif context["active"]:
            data = b""
        offset = max(0, len(data) - LOG_TAIL_BYTES)
        log_texts[name] = {"text": data[offset:].decode("utf-8", errors="replace"),
                           "offset": len(data)}
    return {"files": files, "logs": logs, "log_texts": log_texts, "selected": selected,
            "preview": preview}


def _preview(run: Any, path: str, size: int) -> dict[str, Any]:
    suffix = Path(path).suffix.lower()
    if suffix in _IMAGE_TYPES:
        return {"kind": "image", "path": path}
    if suffix not in _TEXT_SUFFIXES:
        return {"kind": "binary", "path": path, "size": size}
    with run.workspace.artifacts.open(f"runs/{run.id}/{path}") as handle:
        data = handle.read(PREVIEW_BYTES)
    return {"kind": "text", "path": path, "text": data.decode("utf-8", errors="replace"),
            "truncated": size > PREVIEW_BYTES}


def _snapshot_files(workspace: Workspace, row: Mapping[str, Any],
                    selected: str) -> dict[str, Any] | None:
    """The snapshot's manifest (path, size, sha256) and the selected file's text."""
    snapshot_id = row["snapshot_id"]
    if not snapshot_id:
        return None
    artifacts = workspace.artifacts
    manifest = json.loads(artifacts.read_blob(snapshot_id))
    files = sorted(manifest["files"], key=lambda e: e["path"])
    preview = None
    entry = next((e for e in files if e["path"] == selected), None)
    if entry is not None:
        suffix = Path(entry["path"]).suffix.lower()
        if suffix in _TEXT_SUFFIXES and entry["size"] <= PREVIEW_BYTES:
            data = artifacts.read_blob(entry["sha256"])
            preview = {"path": entry["path"], "text": data.decode("utf-8", errors="replace")}
        else:
            preview = {"path": entry["path"], "text": None}
    return {"id": snapshot_id, "files": files, "preview": preview,
            "bytes": sum(e["size"] for e in files)}


# -- a sweep's parent -----------------------------------------------------------------------
def _sweep(workspace: Workspace, context: dict[str, Any]) -> dict[str, Any]:
    from runyard.hyperdrive.run import HYPERPARAMETERS_TAG

    settings = dict(context["config"].get("hyperdrive") or {})
    primary = settings.get("primary_metric_config") or {}
    if isinstance(primary, str):
        primary = json.loads(primary)
    name = primary.get("name")
    goal = str(primary.get("goal", "maximize")).lower()
    children = []
    summaries = _summaries(workspace.store, [c["id"] for c in context["children"]])
    for child in context["children"]:
        tags = workspace.store.get_tags(child["id"])
        summary = summaries[child["id"]].get(name) if name else None
        best = None  # the child's best value over everything it logged, as v1's
        if summary is not None:
            best = summary["max_value"] if goal.startswith("max") else summary["min_value"]
        try:
            params = json.loads(tags.get(HYPERPARAMETERS_TAG) or "{}")
        except ValueError:
            params = {}
        children.append({"id": child["id"], "status": child["status"], "best": best,
                         "hyperparameters": params if isinstance(params, dict) else {},
                         "early_termination": tags.get("early_termination"),
                         "canceled_by_sweep": tags.get("canceled_by_sweep"),
                         "duration": _run_duration(child)})
    with_metric = [c for c in children if c["best"] is not None]
    without = [c for c in children if c["best"] is None]
    with_metric.sort(key=lambda c: c["best"], reverse=goal.startswith("max"))
    ordered = with_metric + without
    parameters = sorted({k for c in ordered for k in c["hyperparameters"]})
    parallel = {"metric": name, "goal": goal, "parameters": parameters,
                "runs": [{"id": c["id"], "status": c["status"], "value": c["best"],
                          "params": c["hyperparameters"]} for c in ordered]}
    return {"sweep": {"metric": name, "goal": goal, "children": ordered,
                      "parameters": parameters, "settings": settings,
                      "stopped": [c for c in ordered if c["early_termination"]],
                      "best_run": context["tags"].get("best_child_run_id"),
                      "saved": context["tags"].get("compute_seconds_saved")},
            "parallel": parallel}


# -- models, compute, compare ---------------------------------------------------------------
@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request) -> HTMLResponse:
    models = _workspace(request).store.list_models()
    return _render(request, "models.html", nav="models", models=models)


@router.get("/compute", response_class=HTMLResponse)
def compute_page(request: Request) -> HTMLResponse:
    from runyard.compute.base import get_compute_target

    workspace = _workspace(request)
    names = ["local"] + [t["name"] for t in workspace.store.list_compute_targets()
                         if t["name"] != "local"]
    from runyard.store import _queries

    active = _queries.search_runs(workspace.store, status=sorted(map(str, _status.ACTIVE)),
                                  order_by="created", limit=_queries.MAX_LIMIT).runs
    targets = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "type": None, "nodes": [], "error": None,
                                 "state": None}
        try:
            target = get_compute_target(workspace, name)
            entry["type"] = getattr(target, "type", None) or type(target).__name__
            entry["state"] = target.provisioning_state
            entry["nodes"] = target.list_nodes()
        except Exception as e:  # noqa: BLE001 - a target that cannot answer is shown so
            entry["error"] = f"{type(e).__name__}: {e}"
        runs = [r for r in active if r["compute_target"] == name]
        entry["queued"] = [r for r in runs if r["status"] in _WAITING]
        entry["running"] = [r for r in runs if r not in entry["queued"]]
        targets.append(entry)
    return _render(request, "compute.html", nav="compute", targets=targets)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request) -> HTMLResponse:
    workspace = _workspace(request)
    ids: list[str] = []
    for value in request.query_params.getlist("runs"):
        ids += [v.strip() for v in value.split(",") if v.strip()]
    ids = list(dict.fromkeys(ids))
    problem = None
    if ids and not 2 <= len(ids) <= MAX_COMPARE:
        problem = f"compare takes 2 to {MAX_COMPARE} runs; {len(ids)} were given"
    runs: list[dict[str, Any]] = []
    if problem is None:
        for run_id in ids:
            try:
                row = workspace.store.get_run(run_id)
            except RunNotFoundError:
                problem = f"no run with id {run_id}"
                break
            config = row["config"] or {}
            tags = workspace.store.get_tags(run_id)
            runs.append({"row": row, "tags": tags, "last": {},
                         "arguments": config.get("arguments") or [],
                         "hyperparameters": _hyperparameters(tags),
                         "duration": _run_duration(row)})
    last = _last_values(workspace.store, [r["row"]["id"] for r in runs])
    for run in runs:
        run["last"] = last[run["row"]["id"]]
    metric_names = sorted({n for r in runs for n in r["last"]})
    tag_keys = sorted({k for r in runs for k in r["tags"]})
    param_keys = sorted({k for r in runs for k in r["hyperparameters"]})
    return _render(request, "compare.html", nav="compare", runs=runs, problem=problem,
                   ids=ids, metric_names=metric_names, tag_keys=tag_keys,
                   param_keys=param_keys)


def _hyperparameters(tags: Mapping[str, str | None]) -> dict[str, Any]:
    try:
        value = json.loads(tags.get("hyperparameters") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
