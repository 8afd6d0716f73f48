"""The run browser at scale: runyard's queries and REST API against MLflow 3.17.2's server.

Usage: .venv/bin/python bench/ui.py [--quick] [--skip-mlflow] [--runs N] [--mlflow-runs N]
                                    [--points N] [--repeats N] [--browser-repeats N]

Loads, into a fresh workspace in a temporary folder, N runs with 5 metrics of 10 points
each (one run in ten lacks "accuracy") and one run with one metric of --points points;
the same data goes into MLflow's own server (`mlflow server`, SQLite, 1 worker, on a free
port of 127.0.0.1, from bench/.venv-mlflow), with --mlflow-runs runs (fewer by default:
loading is MLflow's slow part). Then, same invocation, median of --repeats after one
warm-up: the first page of 100 runs sorted by a metric (runyard's `search_runs`, its
`/api/v1/runs`, MLflow's `runs/search`), and the big metric as a chart (runyard's
`metric_series` and `/api/v1/runs/{id}/metrics/series` with 1,000 buckets; MLflow's
`metrics/get-history` and its sampled `get-history-bulk-interval`, 1,000 points), with
the bytes each sends. In headless Chromium (Debian's /usr/bin/chromium driven by
playwright; never `playwright install`), median of --browser-repeats (3; --quick 1) page
loads after a warm-up load: the time from navigation start until the runs table's first
row is on screen (runyard's /runs page and MLflow's own runs page, sorted by the metric
and unsorted), and until the big metric's chart is drawn on runyard's metrics tab, with
the bytes of its responses; and a submitted run's printed log line until shown on its
outputs page. Prints one markdown table. Everything lives in the temporary folder
(removed at the end); the only processes stopped are the servers started here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import say

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
METRICS = ("loss", "accuracy", "lr", "grad_norm", "throughput")
POINTS_PER_METRIC = 10
PAGE = 100
BUCKETS = 1000
SIZES = {"full": {"runs": 10_000, "mlflow_runs": 1_000, "points": 1_000_000,
                  "mlflow_points": 1_000_000, "repeats": 5, "browser_repeats": 3},
         "quick": {"runs": 1_000, "mlflow_runs": 200, "points": 100_000,
                   "mlflow_points": 100_000, "repeats": 3, "browser_repeats": 1}}
MLFLOW_BATCH = 1000  # MLflow's limit of metrics per log-batch request
CHROMIUM = "/usr/bin/chromium"  # Debian's; never `playwright install`
BROWSER_TIMEOUT_MS = 300_000
# In-page conditions for page.wait_for_function (polled every animation frame): each
# answers performance.now() (milliseconds since navigation start) once the page shows it.
RUNYARD_ROWS = """(first) => {
  const row = document.querySelector('#runs tbody tr[data-run-id]');
  return row && (!first || row.dataset.runId === first)
    && row.getBoundingClientRect().height > 0 ? performance.now() : false; }"""
RUNYARD_DRAWN = """() => {
  const charts = document.getElementById('charts');
  return charts && charts.dataset.state === 'drawn' && charts.querySelector('canvas')
    ? performance.now() : false; }"""
# MLflow's runs table is an ag-grid: a row per run, `row-index` its place, `row-id` its id
MLFLOW_ROWS = """(first) => {
  const row = document.querySelector(first ? `[role=row][row-index="0"][row-id="${first}"]`
                                           : '[role=row][row-index="0"][row-id]');
  const link = row && row.querySelector('a[href*="/runs/"]');
  return link && link.getBoundingClientRect().height > 0 ? performance.now() : false; }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: Any = None, timeout: float = 600) -> tuple[Any, int]:
    """(the decoded JSON answer, the bytes of its body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw), len(raw)


def timed(call: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """(median seconds of `repeats` calls after one warm-up, the last answer)."""
    answer = call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), answer


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited {process.returncode} before answering")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def browser_problem() -> str | None:
    """Why the browser rows cannot be measured here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"browser rows: {CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser rows: the playwright package is missing (pip install -e '.[dev]')"
    return None


def browser_times(loads: dict[str, tuple[str, str, str | None]],
                  repeats: int) -> dict[str, tuple[float, int]]:
    """For each name: (the median seconds from navigation start until its condition holds,
    over `repeats` loads of its URL after a warm-up load; the bytes of the warm-up load's
    responses, bodies and headers, as sent). One headless Chromium, a fresh context for
    each name: the warm-up load is cold, after it the static files come from the cache,
    as on a revisit. `loads` maps a name to
    (url, the in-page condition, its argument)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    answers: dict[str, tuple[float, int]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            for name, (url, condition, arg) in loads.items():
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                times, size = [], 0
                for attempt in range(repeats + 1):
                    page = context.new_page()
                    finished: list[Any] = []
                    page.on("requestfinished", lambda request, into=finished: into.append(request))
                    page.goto(url, wait_until="commit")
                    shown = page.wait_for_function(condition, arg=arg, polling="raf",
                                                   timeout=BROWSER_TIMEOUT_MS)
                    if attempt:
                        times.append(float(shown.json_value()) / 1000)
                    else:  # the cold load: everything the page needs comes over the wire
                        with contextlib.suppress(PlaywrightTimeout):  # MLflow's page polls
                            page.wait_for_load_state("networkidle", timeout=5000)
                        for request in finished:
                            sizes = request.sizes()
                            size += sizes["responseBodySize"] + sizes["responseHeadersSize"]
                    page.close()
                context.close()
                answers[name] = (statistics.median(times), size)
                say(f"  [chromium] {name}: {answers[name][0] * 1000:.0f} ms "
                    f"(cold load {size:,} bytes)")
        finally:
            browser.close()
    return answers


LIVE_SCRIPT = """\
import sys, time
from pathlib import Path
folder = Path(sys.argv[1])
print("waiting for the go", flush=True)
for index in range(int(sys.argv[2])):
    while not (folder / f"go{index}").exists():
        time.sleep(0.01)
    print(f"LIVE {index} {time.time():.6f}", flush=True)
while not (folder / "stop").exists():
    time.sleep(0.01)
"""
# the seconds from the script's print (its time.time()) until the line is in the page
LIVE_SHOWN = """(index) => {
  const log = document.querySelector("pre[data-log='logs/driver_0.txt']");
  const found = log && new RegExp("LIVE " + index + " ([0-9.]+)").exec(log.textContent);
  return found ? Date.now() / 1000 - Number(found[1]) : false; }"""


def live_log_latency(workspace: Any, base: str, repeats: int, tmp: Path) -> float:
    """The median of `repeats` lines (after a warm-up line) written by a submitted run's
    script, from its print until shown on the run's outputs page in headless Chromium,
    which stays open as the log grows (the page follows it over Server-Sent Events)."""
    from playwright.sync_api import sync_playwright

    from runyard import Experiment, ScriptRunConfig

    source, signals = tmp / "live-src", tmp / "live-signals"
    source.mkdir()
    signals.mkdir()
    (source / "live.py").write_text(LIVE_SCRIPT)
    run = Experiment(workspace, "bench-live").submit(ScriptRunConfig(
        str(source), "live.py", arguments=[str(signals), str(repeats + 1)]))
    try:
        deadline = time.monotonic() + 120
        while b"waiting for the go" not in run.read_log("logs/driver_0.txt"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the live-log run did not start: {run.get_details()}")
            time.sleep(0.1)
        latencies = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(f"{base}/runs/{run.id}/outputs")
                page.locator("pre[data-log='logs/driver_0.txt']",
                             has_text="waiting for the go").wait_for(timeout=60_000)
                for index in range(repeats + 1):
                    (signals / f"go{index}").write_text("")
                    shown = page.wait_for_function(LIVE_SHOWN, arg=index, polling="raf",
                                                   timeout=60_000)
                    if index:
                        latencies.append(float(shown.json_value()))
            finally:
                browser.close()
    finally:
        for index in range(repeats + 1):  # let the script end whatever happened
            (signals / f"go{index}").write_text("")
        (signals / "stop").write_text("")
        with contextlib.suppress(Exception):
            run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    return statistics.median(latencies)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def dataset(runs: int, seed: int = 0) -> list[dict[str, list[float]]]:
    """Each run's metrics: {name: 10 values}; one run in ten has no "accuracy"."""
    rng = random.Random(seed)
    data = []
    for index in range(runs):
        metrics = {name: [rng.random() for _ in range(POINTS_PER_METRIC)] for name in METRICS}
        if index % 10 == 9:
            del metrics["accuracy"]
        data.append(metrics)
    return data


def big_values(points: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    values = [rng.random() for _ in range(points)]
    values[rng.randrange(points)] = 100.0  # one spike: the envelope must show it
    return values


# -- runyard ------------------------------------------------------------------------------
def load_runyard(root: Path, data: list[dict[str, list[float]]],
                 big: list[float]) -> tuple[Any, str, dict[str, float]]:
    """Straight into the store, not by submitting scripts: the runs' rows (Completed, with
    their status events and a tag) in one transaction through the store's tables, their
    points by `store.insert_metrics` in batches of 100 runs' points (as the ingest stores
    them, so the metric summaries are made the same way)."""
    from runyard.store import _schema as t
    from runyard.store.base import metric_row
    from runyard.workspace import Workspace

    workspace = Workspace.create("bench-ui", root / "workspace")
    store = workspace.store
    started = time.perf_counter()
    experiment_id = store.ensure_experiment("bench-ui")
    now = time.time()
    runs, events, tags = [], [], []
    for index in range(len(data)):
        run_id = f"bench_{index:05d}"
        begun = now + index
        runs.append({"id": run_id, "experiment_id": experiment_id, "number": index + 1,
                     "display_name": f"trial {index}", "status": "Completed",
                     "compute_target": "local", "created_at": begun, "start_time": begun,
                     "end_time": begun + 10 + index % 50})
        events += [{"run_id": run_id, "status": s, "time": begun + d}
                   for s, d in (("Running", 0), ("Completed", 10))]
        tags.append({"run_id": run_id, "key": "lr_schedule",
                     "value": ("cosine", "step", "linear")[index % 3]})
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(t.runs.insert(), runs)
        conn.execute(t.status_events.insert(), events)
        conn.execute(t.tags.insert(), tags)
    rows: list[Any] = []
    for index, metrics in enumerate(data):
        run_id = f"bench_{index:05d}"
        for name, values in metrics.items():
            rows.extend(metric_row((run_id, name, "s", step, value, None, now + step, 0))
                        for step, value in enumerate(values))
        if index % 100 == 99:
            store.insert_metrics(rows)
            rows.clear()
    store.insert_metrics(rows)
    runs_s = time.perf_counter() - started
    big_id = "bench_big"
    store.create_run(big_id, "bench-ui", compute_target="local", config=None,
                     snapshot_id=None, display_name="one million points", status="Running")
    started = time.perf_counter()
    batch = 50_000
    for start in range(0, len(big), batch):
        store.insert_metrics([metric_row((big_id, "loss", "s", start + i, value, None,
                                          now + (start + i) * 0.001, 0))
                              for i, value in enumerate(big[start:start + batch])])
    big_s = time.perf_counter() - started
    store.set_status(big_id, "Completed")
    return workspace, big_id, {"runs_s": runs_s, "big_s": big_s}


def start_runyard_ui(workspace_path: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "runyard.cli", "ui", "--workspace", str(workspace_path),
               "--port", str(port)]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/api/v1/experiments", process, 60)
    return process, base


def measure_runyard(workspace: Any, big_id: str, repeats: int, results: dict[str, Any],
                    tmp: Path, browser_repeats: int) -> None:
    from runyard.store import _queries

    store = workspace.store
    columns = list(METRICS)
    seconds, page = timed(lambda: _queries.search_runs(
        store, order_by="-metric:loss", limit=PAGE, metric_columns=columns), repeats)
    results["page_fn_s"] = seconds
    results["page_total"] = page.total
    seconds, _unsorted = timed(lambda: _queries.search_runs(store, order_by="-start",
                                                           limit=PAGE), repeats)
    results["page_fn_unsorted_s"] = seconds
    seconds, series = timed(lambda: _queries.metric_series(store, big_id, "loss",
                                                           buckets=BUCKETS), repeats)
    results["series_fn_s"] = seconds
    results["series_buckets"] = len(series.x)
    results["series_max"] = series.overall_max
    results["series_bucket_max"] = max(series.max)
    say(f"  runyard functions: page {results['page_fn_s'] * 1000:.1f} ms (unsorted "
        f"{results['page_fn_unsorted_s'] * 1000:.1f} ms), series "
        f"{results['series_fn_s'] * 1000:.1f} ms ({len(series.x)} buckets)")
    try:
        process, base = start_runyard_ui(workspace.path, tmp / "runyard-ui.log")
    except Exception as e:  # the API's absence must not cost the other rows
        results["api_problem"] = f"runyard ui did not start: {e}"
        say(f"  {results['api_problem']}")
        return
    try:
        query = urllib.parse.urlencode([("sort", "metric:loss"), ("order", "desc"),
                                        ("limit", PAGE)] + [("columns", c) for c in columns])
        seconds, (_answer, size) = timed(lambda: http("GET", f"{base}/api/v1/runs?{query}"),
                                        repeats)
        results["page_api_s"], results["page_api_bytes"] = seconds, size
        url = (f"{base}/api/v1/runs/{big_id}/metrics/series?"
               + urllib.parse.urlencode({"name": "loss", "buckets": BUCKETS}))
        seconds, (_answer, size) = timed(lambda: http("GET", url), repeats)
        results["series_api_s"], results["series_api_bytes"] = seconds, size
        say(f"  runyard API: page {results['page_api_s'] * 1000:.1f} ms, series "
            f"{results['series_api_s'] * 1000:.1f} ms, {size:,} bytes")
        problem = browser_problem()
        if problem:
            results["browser_problem"] = problem
            return
        sorted_url = f"{base}/runs?" + urllib.parse.urlencode(
            {"metrics": ",".join(columns), "sort": "metric:loss", "order": "desc"})
        try:
            shown = browser_times({
                "runyard runs page sorted by loss": (sorted_url, RUNYARD_ROWS,
                                                     page.runs[0]["id"]),
                "runyard runs page unsorted": (f"{base}/runs", RUNYARD_ROWS, None),
                "runyard chart drawn": (f"{base}/runs/{big_id}/metrics", RUNYARD_DRAWN, None),
            }, browser_repeats)
        except Exception as e:  # a browser that fails must not cost the other rows
            results["browser_problem"] = f"runyard in Chromium: {type(e).__name__}: {e}"
            say(f"  {results['browser_problem']}")
            return
        results["page_browser_s"] = shown["runyard runs page sorted by loss"][0]
        results["page_browser_unsorted_s"] = shown["runyard runs page unsorted"][0]
        results["chart_browser_s"], results["chart_browser_bytes"] = shown[
            "runyard chart drawn"]
        try:
            results["live_log_s"] = live_log_latency(workspace, base, browser_repeats, tmp)
            say(f"  [chromium] live log line shown {results['live_log_s'] * 1000:.0f} ms "
                "after the script printed it")
        except Exception as e:
            results["live_problem"] = f"live log row: {type(e).__name__}: {e}"
            say(f"  {results['live_problem']}")
    finally:
        stop(process)


# -- MLflow -------------------------------------------------------------------------------
def start_mlflow(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    folder = tmp / "mlflow"
    folder.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "RUNYARD_")) and k != "VIRTUAL_ENV"}
    # no network here: no usage data; and no job runner (its 7 huey consumers serve
    # MLflow's GenAI jobs, not the tracking API measured here, and would take CPU from it)
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    command = [str(BENCH / ".venv-mlflow" / "bin" / "mlflow"), "server",
               "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
               "--default-artifact-root", str(folder / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                               stdout=(folder / "server.log").open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", process, 180)
    return process, base


def measure_mlflow(data: list[dict[str, list[float]]], big: list[float], repeats: int,
                   results: dict[str, Any], tmp: Path, get_history: bool,
                   browser_repeats: int) -> None:
    process, base = start_mlflow(tmp)
    api = f"{base}/api/2.0/mlflow"
    try:
        experiment = http("POST", f"{api}/experiments/create",
                          {"name": "bench-ui"})[0]["experiment_id"]
        now_ms = int(time.time() * 1000)
        started = time.perf_counter()
        for index, metrics in enumerate(data):
            run = http("POST", f"{api}/runs/create", {
                "experiment_id": experiment, "run_name": f"trial {index}",
                "start_time": now_ms,
                "tags": [{"key": "lr_schedule",
                          "value": ("cosine", "step", "linear")[index % 3]}]})[0]
            run_id = run["run"]["info"]["run_id"]
            points = [{"key": name, "value": value, "timestamp": now_ms + step * 1000,
                       "step": step}
                      for name, values in metrics.items() for step, value in enumerate(values)]
            http("POST", f"{api}/runs/log-batch", {"run_id": run_id, "metrics": points})
            http("POST", f"{api}/runs/update", {"run_id": run_id, "status": "FINISHED",
                                                "end_time": now_ms})
            if index % 200 == 199:
                say(f"  [mlflow] {index + 1:,} runs in {time.perf_counter() - started:.0f} s")
        results["mlflow_runs_s"] = time.perf_counter() - started
        big_id = http("POST", f"{api}/runs/create", {
            "experiment_id": experiment, "run_name": "one million points",
            "start_time": now_ms})[0]["run"]["info"]["run_id"]
        started = time.perf_counter()
        for start in range(0, len(big), MLFLOW_BATCH):
            http("POST", f"{api}/runs/log-batch", {"run_id": big_id, "metrics": [
                {"key": "loss", "value": value, "timestamp": now_ms + (start + i),
                 "step": start + i} for i, value in enumerate(big[start:start + MLFLOW_BATCH])]})
        results["mlflow_big_s"] = time.perf_counter() - started
        say(f"  [mlflow] loaded {len(data):,} runs in {results['mlflow_runs_s']:.1f} s, "
            f"{len(big):,} points in {results['mlflow_big_s']:.1f} s")
        search = {"experiment_ids": [experiment], "max_results": PAGE,
                  "order_by": ["metrics.loss DESC"]}
        seconds, (answer, size) = timed(lambda: http("POST", f"{api}/runs/search", search),
                                        repeats)
        results["mlflow_page_s"], results["mlflow_page_bytes"] = seconds, size
        seconds, _ = timed(lambda: http("POST", f"{api}/runs/search", {
            "experiment_ids": [experiment], "max_results": PAGE}), repeats)
        results["mlflow_page_unsorted_s"] = seconds
        top = answer["runs"][0]["info"]["run_id"]  # the sorted page's first run
        say(f"  [mlflow] runs/search sorted {results['mlflow_page_s'] * 1000:.0f} ms, "
            f"unsorted {results['mlflow_page_unsorted_s'] * 1000:.0f} ms")
        sampled = (f"{base}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?"
                   + urllib.parse.urlencode({"run_ids": big_id, "metric_key": "loss",
                                             "max_results": BUCKETS}))
        seconds, (answer, size) = timed(lambda: http("GET", sampled), repeats)
        results["mlflow_sampled_s"], results["mlflow_sampled_bytes"] = seconds, size
        results["mlflow_sampled_points"] = len(answer.get("metrics", []))
        results["mlflow_sampled_max"] = max(
            (m["value"] for m in answer.get("metrics", [])), default=None)
        say(f"  [mlflow] sampled history {seconds * 1000:.0f} ms, "
            f"{results['mlflow_sampled_points']} points, {size:,} bytes")
        if get_history:  # one call: it is the slow one (51 s for 1M points, per issue 15)
            url = (f"{api}/metrics/get-history?"
                   + urllib.parse.urlencode({"run_id": big_id, "metric_key": "loss"}))
            started = time.perf_counter()
            answer, size = http("GET", url, timeout=900)
            results["mlflow_history_s"] = time.perf_counter() - started
            results["mlflow_history_bytes"] = size
            results["mlflow_history_points"] = len(answer.get("metrics", []))
            say(f"  [mlflow] full history {results['mlflow_history_s']:.1f} s, "
                f"{results['mlflow_history_points']:,} points, {size:,} bytes")
        if browser_problem() is None:
            # its runs page (the "Model training" view, not the GenAI overview a new
            # experiment opens on), sorted as its own Sort menu writes into the address
            runs_url = f"{base}/#/experiments/{experiment}/runs?workflowType=machine_learning"
            try:
                shown = browser_times({
                    "MLflow runs page sorted by loss": (
                        runs_url + "&orderByKey=metrics.%60loss%60&orderByAsc=false",
                        MLFLOW_ROWS, top),
                    "MLflow runs page unsorted": (runs_url, MLFLOW_ROWS, None),
                }, browser_repeats)
                results["mlflow_page_browser_s"] = shown["MLflow runs page sorted by loss"][0]
                results["mlflow_page_browser_unsorted_s"] = shown[
                    "MLflow runs page unsorted"][0]
            except Exception as e:
                results["mlflow_browser_problem"] = (
                    f"MLflow in Chromium: {type(e).__name__}: {e}")
                say(f"  {results['mlflow_browser_problem']}")
    finally:
        stop(process)


# -- the report ---------------------------------------------------------------------------
def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else (f"{seconds * 1000:,.1f} ms" if seconds < 10
                                          else f"{seconds:,.1f} s")


def report(r: dict[str, Any], size: dict[str, int]) -> str:
    def row(measure: str, ours: str, anchor: str, target: str, met: bool | None) -> str:
        verdict = "n/a" if met is None else ("yes" if met else "NO")
        return f"| {measure} | {ours} | {anchor} | {target} | {verdict} |"

    mr, n_big, m_big = size["mlflow_runs"], size["points"], size["mlflow_points"]
    get = r.get
    lines = [
        "| measure | runyard | MLflow 3.17.2 server | target | met? |",
        "|---|---|---|---|---|",
        row(f"load {size['runs']:,} runs × 5 metrics × {POINTS_PER_METRIC} points "
            f"(MLflow: {mr:,} runs)",
            ms(get("runs_s")) + (f" ({get('runs_s') / size['runs'] * 1000:.2f} ms a run)"
                                 if get("runs_s") else ""),
            ms(get("mlflow_runs_s")) + (f" ({get('mlflow_runs_s') / mr * 1000:.1f} ms a run)"
                                        if get("mlflow_runs_s") else ""), "", None),
        row(f"load one metric of {n_big:,} points", ms(get("big_s")) + (
            f" ({n_big / get('big_s'):,.0f} points/s)" if get("big_s") else ""),
            ms(get("mlflow_big_s")) + (f" ({m_big:,} points, {m_big / get('mlflow_big_s'):,.0f}"
                                       " points/s)" if get("mlflow_big_s") else ""), "", None),
        row(f"first page of {PAGE} runs sorted by a metric, server function",
            ms(get("page_fn_s")), "", "< 300 ms",
            None if get("page_fn_s") is None else get("page_fn_s") < 0.3),
        row(f"first page of {PAGE} runs sorted by a metric, HTTP (runyard /api/v1/runs; "
            "MLflow runs/search)", ms(get("page_api_s")), ms(get("mlflow_page_s")),
            "< 300 ms", None if get("page_api_s") is None else get("page_api_s") < 0.3),
        row(f"first page of {PAGE} runs unsorted (newest first), server function / "
            "MLflow runs/search", ms(get("page_fn_unsorted_s")),
            ms(get("mlflow_page_unsorted_s")), "", None),
        row(f"first page of {PAGE} runs sorted by a metric, until its rows are visible in "
            "Chromium (runyard /runs page; MLflow's runs page)", ms(get("page_browser_s")),
            ms(get("mlflow_page_browser_s")), "< 1 s",
            None if get("page_browser_s") is None else get("page_browser_s") < 1),
        row("runs page unsorted (newest first), until its rows are visible in Chromium",
            ms(get("page_browser_unsorted_s")), ms(get("mlflow_page_browser_unsorted_s")),
            "", None),
        row(f"{n_big:,}-point metric as {BUCKETS:,} buckets, server function",
            ms(get("series_fn_s")), "", "< 200 ms",
            None if get("series_fn_s") is None else get("series_fn_s") < 0.2),
        row(f"{n_big:,}-point metric, HTTP: runyard series ({BUCKETS:,} buckets, exact "
            f"min/max) vs MLflow get-history-bulk-interval ({BUCKETS:,} points of "
            f"{m_big:,})",
            ms(get("series_api_s")) + (f", {get('series_api_bytes'):,} B"
                                       if get("series_api_bytes") else ""),
            ms(get("mlflow_sampled_s")) + (f", {get('mlflow_sampled_bytes'):,} B"
                                           if get("mlflow_sampled_bytes") else ""),
            "< 200 ms", None if get("series_api_s") is None else get("series_api_s") < 0.2),
        row(f"{n_big:,}-point chart drawn in Chromium (runyard metrics tab; bytes: the "
            "cold load's responses)", ms(get("chart_browser_s")) + (
                f", {get('chart_browser_bytes'):,} B" if get("chart_browser_bytes") else ""),
            "", "< 500 ms",
            None if get("chart_browser_s") is None else get("chart_browser_s") < 0.5),
        row("live log: a line printed by a running run's script until shown on its "
            "outputs page in Chromium", ms(get("live_log_s")), "", "< 1 s",
            None if get("live_log_s") is None else get("live_log_s") < 1),
        row(f"MLflow get-history (every point of {m_big:,})", "",
            ms(get("mlflow_history_s")) + (f", {get('mlflow_history_bytes'):,} B"
                                           if get("mlflow_history_bytes") else ""), "", None),
        row("the spike (100.0) in the chart's data", "yes" if get("series_bucket_max") == 100.0
            else "NO", "n/a" if get("mlflow_sampled_max") is None else
            ("yes" if get("mlflow_sampled_max") == 100.0 else "no"), "shown", None
            if get("series_bucket_max") is None else get("series_bucket_max") == 100.0),
    ]
    notes = [f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python "
             f"{platform.python_version()}; medians of {size['repeats']} calls after a "
             f"warm-up ({size['browser_repeats']} in Chromium; MLflow's get-history: one "
             "call); HTTP times are the client's on loopback; browser times are from "
             "navigation start (performance.now()) in headless Chromium, a fresh context "
             "for each page, so the warm-up load is cold and after it the static files "
             f"come from the cache; load average at the end {os.getloadavg()[0]:.1f}."]
    for key in ("api_problem", "browser_problem", "live_problem", "mlflow_problem",
                "mlflow_browser_problem"):
        if get(key):
            notes.append(str(get(key)))
    return "\n".join(lines) + "\n\n" + "\n".join(notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 runs, 100,000 points, 200 MLflow runs, 3 repeats "
                             "(1 in Chromium)")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--mlflow-runs", type=int)
    parser.add_argument("--points", type=int)
    parser.add_argument("--mlflow-points", type=int,
                        help="points of MLflow's big metric (default: as many as runyard's)")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--browser-repeats", type=int,
                        help="page loads (log lines) measured in Chromium after the warm-up")
    parser.add_argument("--no-get-history", action="store_true",
                        help="skip MLflow's full get-history call (the slowest)")
    args = parser.parse_args(argv)
    size = dict(SIZES["quick" if args.quick else "full"])
    if args.points is not None and args.mlflow_points is None:
        args.mlflow_points = args.points
    for key in ("runs", "mlflow_runs", "points", "mlflow_points", "repeats",
                "browser_repeats"):
        if getattr(args, key) is not None:
            size[key] = getattr(args, key)
    results: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="runyard-bench-ui-"))
    try:
        data, big = dataset(size["runs"]), big_values(size["points"])
        say(f"[1/2] runyard: loading {size['runs']:,} runs and {size['points']:,} points")
        workspace, big_id, loaded = load_runyard(tmp, data, big)
        results.update(loaded)
        say(f"  loaded in {loaded['runs_s']:.1f} s + {loaded['big_s']:.1f} s")
        measure_runyard(workspace, big_id, size["repeats"], results, tmp,
                        size["browser_repeats"])
        workspace.store.close()
        if args.skip_mlflow:
            results["mlflow_problem"] = "MLflow: skipped (--skip-mlflow)"
        elif not (BENCH / ".venv-mlflow" / "bin" / "mlflow").is_file():
            from run import ensure_mlflow_venv  # bench/run.py's virtualenv, made if missing

            problem = ensure_mlflow_venv()
            if problem:
                results["mlflow_problem"] = f"MLflow: {problem}"
        if "mlflow_problem" not in results:
            say(f"[2/2] MLflow: loading {size['mlflow_runs']:,} runs and "
                f"{size['mlflow_points']:,} points into its server")
            try:
                measure_mlflow(data[:size["mlflow_runs"]], big_values(size["mlflow_points"]),
                               size["repeats"], results, tmp, not args.no_get_history,
                               size["browser_repeats"])
            except Exception as e:
                results["mlflow_problem"] = f"MLflow failed: {type(e).__name__}: {e}"
                say(results["mlflow_problem"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(report(results, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
