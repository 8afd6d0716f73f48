"""The UI's pages in real headless Chromium (Debian's /usr/bin/chromium, driven by
playwright through `executable_path`; never `playwright install`), served by a real
`runyard ui` process over a real workspace with real runs: a completed run, a failed one,
a distributed one, an active one whose log grows, and a sweep.

Where chromium or playwright is missing the tests skip, naming what is missing, except on
CI (CI=true), where that is a failure. With RUNYARD_UI_SCREENSHOTS=FOLDER the main pages
are also written there as PNG files (docs/img/ui-*.png come from this).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.distributed import TensorflowConfiguration
from runyard.hyperdrive import BanditPolicy, GridParameterSampling, HyperDriveConfig, choice

from .conftest import _processes_mentioning

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
XSS_TAG = "<script>alert(1)</script>"
XSS_METRIC = "</script><script>alert(2)</script>"  # inside the metrics page's own script
SPIKE_STEP, SPIKE_VALUE, POINTS = 2345, 100.0, 5000


def _require_browser() -> Any:
    """playwright's sync API, or a skip (a failure on CI) naming what is missing."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium; make system-deps)")
    try:
        from playwright import sync_api
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
        sync_api = None
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_api


def _png(width: int = 16, height: int = 16) -> bytes:
    """A small valid PNG (a red-to-blue gradient), standard library only."""
    raw = b"".join(b"\x00" + b"".join(bytes((255 - 16 * x, 40, 16 * x)) for x in range(width))
                   for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


COMPLETED = f"""
    import os
    from runyard import Run
    run = Run.get_context()
    for step in range({POINTS}):
        run.log("loss", {SPIKE_VALUE} if step == {SPIKE_STEP} else 1.0 / (1 + step), step=step)
    for epoch in range(4):
        run.log("accuracy", 0.5 + 0.1 * epoch, step=epoch)
        run.log_row("curve", epoch=epoch, acc=round(0.5 + 0.1 * epoch, 2))
    run.log_table("confusion", {{"label": ["cat", "dog"], "count": [3, 4]}})
    run.log_image("sample", path="sample.png")
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/result.txt", "w") as handle:
        handle.write("hello from outputs\\n")
    child = run.child_run("fold-0")
    child.log("acc", 0.9)
    child.complete()
    print("training done")
"""

FAILED = """
    print("about to fail")
    raise RuntimeError("the loss went NaN at step 7")
"""

DISTRIBUTED = f"""
    import json, os
    from runyard import Run
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    print(f"I am {{task['type']}} {{task['index']}}", flush=True)
    Run.get_context().log({XSS_METRIC!r}, 1.0 + task["index"])
"""

ACTIVE = """
    import sys, time
    from pathlib import Path
    folder = Path(sys.argv[1])
    print("waiting for the go", flush=True)
    while not (folder / "go").exists():
        time.sleep(0.02)
    print("LIVE " + (folder / "go").read_text(), flush=True)
    while not (folder / "stop").exists():
        time.sleep(0.02)
"""

SWEEP = """
    import argparse
    from runyard import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float)
    parser.add_argument("--layers", type=int)
    args = parser.parse_args()
    run = Run.get_context()
    for step in range(3):
        run.log("acc", args.lr * args.layers * (step + 1))
"""

# "good" logs 0.9 at once and ends, "bad" logs 0.1 slowly: the Bandit policy stops it
CURVE = """
    import argparse, time
    from runyard import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--curve")
    args = parser.parse_args()
    run = Run.get_context()
    if args.curve == "good":
        for _ in range(4):
            run.log("acc", 0.9)
    else:
        time.sleep(1.0)
        for _ in range(120):
            run.log("acc", 0.1)
            time.sleep(0.25)
"""


def _write(folder: Path, code: str, **files: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "train.py").write_text(textwrap.dedent(code))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


class Server:
    """A `runyard ui` process over a workspace, on a free port of 127.0.0.1."""

    def __init__(self, workspace: Workspace, token: str | None = None) -> None:
        record = workspace.config_dir / "ui-server.json"
        record.unlink(missing_ok=True)
        command = [sys.executable, "-m", "runyard.cli", "ui", "--workspace",
                   str(workspace.path), "--port", "0"]
        if token is not None:
            command += ["--token", token]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(FileNotFoundError, ValueError):
                found = json.loads(record.read_text())
                if found.get("pid") == self.process.pid:
                    self.url = str(found["url"])
                    break
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.process.communicate(timeout=5)[0] if \
                    self.process.poll() is not None else ""
                self.stop()
                raise AssertionError(f"runyard ui did not start: {output}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class Runs:
    """The module's runs, ended (but `active`, which runs until the test stops it)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace = Workspace.create("ui", path=root / "ws")
        ws = self.workspace
        exp = Experiment(ws, "ui-tests")
        src = root / "src"
        self.completed = exp.submit(ScriptRunConfig(
            str(_write(src / "completed", COMPLETED, **{"sample.png": _png()})), "train.py",
            arguments=["--epochs", "3"]), tags={"xss": XSS_TAG, "team": "vision"})
        self.failed = exp.submit(ScriptRunConfig(str(_write(src / "failed", FAILED)),
                                                 "train.py"))
        self.distributed = exp.submit(ScriptRunConfig(
            str(_write(src / "distributed", DISTRIBUTED)), "train.py",
            distributed_job_config=TensorflowConfiguration(worker_count=2)))
        self.sweep = Experiment(ws, "ui-sweep").submit(HyperDriveConfig(
            run_config=ScriptRunConfig(str(_write(src / "sweep", SWEEP)), "train.py"),
            hyperparameter_sampling=GridParameterSampling(
                {"--lr": choice(0.1, 0.2, 0.3), "--layers": choice(1, 2)}),
            primary_metric_name="acc", primary_metric_goal="maximize",
            max_total_runs=6, max_concurrent_runs=2))
        self.bandit = Experiment(ws, "ui-sweep").submit(HyperDriveConfig(
            run_config=ScriptRunConfig(str(_write(src / "curve", CURVE)), "train.py"),
            hyperparameter_sampling=GridParameterSampling({"--curve": choice("good", "bad")}),
            policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1),
            primary_metric_name="acc", primary_metric_goal="maximize",
            max_total_runs=2, max_concurrent_runs=2))
        for run in (self.completed, self.failed, self.distributed, self.sweep, self.bandit):
            run.wait_for_completion(timeout_seconds=240, raise_on_error=False)
        self.completed.register_model(model_name="ui-model", model_path="outputs/result.txt",
                                      tags={"stage": "test"})
        # two active runs: one whose log grows, one that ends while its page is open
        active = _write(src / "active", ACTIVE)
        self.signals, self.ending_signals = root / "signals", root / "ending-signals"
        self.signals.mkdir()
        self.ending_signals.mkdir()
        self.active, self.ending = (
            exp.submit(ScriptRunConfig(str(active), "train.py", arguments=[str(folder)]))
            for folder in (self.signals, self.ending_signals))
        deadline = time.monotonic() + 60
        for run in (self.active, self.ending):
            while b"waiting for the go" not in run.read_log("logs/driver_0.txt"):
                assert time.monotonic() < deadline, run.get_details()
                time.sleep(0.1)

    def close(self) -> None:
        for folder, run in ((self.signals, self.active), (self.ending_signals, self.ending)):
            (folder / "go").write_text("")
            (folder / "stop").write_text("")
            with contextlib.suppress(Exception):
                run.wait_for_completion(timeout_seconds=30)
        for pid in _processes_mentioning(str(self.workspace.path)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = _require_browser()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        made = Runs(root)
        try:
            yield made
        finally:
            made.close()


@pytest.fixture(scope="module")
def server(runs: Runs) -> Iterator[Server]:
    started = Server(runs.workspace)
    yield started
    started.stop()


class Page:
    """A browser tab that fails the test on a script error, a failed request or a dialog."""

    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1360, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                     if m.type == "error" and "Failed to load resource" not in m.text
                     else None)
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}")
                     if r.status >= 400 and not self.refusals_expected else None)
        self.refusals_expected = False

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)

    def open(self, path: str, status: int = 200) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None, path
        assert response.status == status, (path, response.status)
        return self.page

    def shot(self, name: str) -> None:
        folder = os.environ.get("RUNYARD_UI_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"ui-{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Page]:
    page = Page(browser, server.url)
    yield page
    page.close()


def _visit_tabs(tab: Page, run: Run) -> dict[str, str]:
    """Click every tab of a run's page; each one's text."""
    page = tab.open(f"/runs/{run.id}")
    texts = {}
    names = [a.get_attribute("data-tab") for a in page.locator("nav.tabs a").all()]
    for name in names:
        page.locator(f"nav.tabs a[data-tab='{name}']").click()
        page.wait_for_load_state("load")
        assert page.locator(f"nav.tabs a.active[data-tab='{name}']").count() == 1
        texts[name] = page.locator("section.tab").inner_text()
    return texts


# -- the pages ------------------------------------------------------------------------------
def test_experiments_and_the_runs_table_page_sort_and_filter_on_the_server(
        tab: Page, runs: Runs) -> None:
    page = tab.open("/experiments")
    assert page.locator("#experiments").get_by_text("ui-tests").count() == 1
    page.get_by_role("link", name="ui-tests").click()
    page.wait_for_selector("#runs tbody tr")
    ids = page.locator("#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.runId)")
    assert {runs.completed.id, runs.failed.id, runs.distributed.id, runs.active.id} <= set(ids)
    # filter by status through the form (htmx swaps the table)
    page.locator("select[name=status]").select_option("Failed")
    page.wait_for_function("() => document.querySelectorAll('#runs tbody tr').length === 1")
    assert page.locator("#runs tbody tr").get_attribute("data-run-id") == runs.failed.id
    assert "status=Failed" in page.url
    # a metric column, sorted by it on the server
    tab.open("/runs?experiment=ui-tests&metrics=accuracy&sort=metric:accuracy&order=desc")
    first = page.locator("#runs tbody tr").first
    assert first.get_attribute("data-run-id") == runs.completed.id
    assert "0.8" in first.inner_text()
    tab.shot("runs")
    # clicking a column head sorts by it (a fragment request), ascending then descending
    page.locator("#runs thead a", has_text="status").click()
    page.wait_for_function("() => location.search.includes('sort=status')")
    statuses = page.locator("#runs tbody tr td:nth-child(4)").all_inner_texts()
    assert statuses == sorted(statuses, reverse=True)
    # top-level runs, as Azure studio lists them; a child run only when asked for
    tab.open("/runs?experiment=ui-tests")
    assert page.locator("#runs tbody").get_by_text("fold-0").count() == 0
    page.locator("input[name=children]").check()
    page.locator("#run-filters button[type=submit]").click()
    page.wait_for_function("() => location.search.includes('children=1')")
    page.wait_for_selector("#runs tbody >> text=fold-0")


def test_a_completed_run_page_shows_every_tab(tab: Page, runs: Runs) -> None:
    texts = _visit_tabs(tab, runs.completed)
    assert list(texts) == ["overview", "metrics", "images", "tables", "children", "outputs",
                           "snapshot"]
    assert "Completed" in texts["overview"]
    assert "--epochs" in texts["overview"]
    page = tab.open(f"/runs/{runs.completed.id}")
    stages = page.locator("#timeline .stage").evaluate_all(
        "els => els.map(e => e.className)")
    assert any("stage-running" in s for s in stages), stages
    tab.shot("run-overview")
    assert "loss" in texts["metrics"]
    assert "accuracy" in texts["metrics"]
    assert "confusion" in texts["tables"]
    assert "dog" in texts["tables"]
    assert "curve" in texts["tables"]
    assert "fold-0" in texts["children"] or "Completed" in texts["children"]
    assert "outputs/result.txt" in texts["outputs"]
    assert "training done" in texts["outputs"]
    assert "train.py" in texts["snapshot"]
    # the image loads (naturalWidth > 0: the API served a real PNG)
    page = tab.open(f"/runs/{runs.completed.id}/images")
    page.wait_for_function("() => { const i = document.querySelector('#images img');"
                           " return i && i.complete && i.naturalWidth === 16; }")
    # a file's preview, and the snapshot's file
    page = tab.open(f"/runs/{runs.completed.id}/outputs?path=outputs/result.txt")
    assert "hello from outputs" in page.locator("#preview").inner_text()
    page = tab.open(f"/runs/{runs.completed.id}/snapshot?path=train.py")
    assert "run.child_run" in page.locator(".preview").inner_text()


def test_the_metrics_chart_draws_the_envelope_so_a_spike_shows(tab: Page, runs: Runs) -> None:
    page = tab.open(f"/runs/{runs.completed.id}/metrics")
    page.wait_for_function("() => document.getElementById('charts').dataset.state === 'drawn'")
    series = page.evaluate(f"() => runyard.charts.loss.series[{json.dumps(runs.completed.id)}]")
    assert series["total"] == POINTS
    assert len(series["x"]) < POINTS  # downsampled on the server
    spike = series["max"].index(max(series["max"]))
    assert series["max"][spike] == SPIKE_VALUE
    assert series["mean"][spike] < SPIKE_VALUE  # the mean alone would hide it
    assert series["x"][spike] <= SPIKE_STEP
    assert page.locator(".chart canvas").count() >= 2
    tab.shot("metrics")
    # x as relative time, a log scale, smoothing: the chart is drawn again from the API
    page.locator("select[name=x]").select_option("relative")
    page.wait_for_function("() => runyard.charts.loss && "
                           "Object.values(runyard.charts.loss.series)[0].x_mode === 'relative'")
    page.locator("input[name=log]").check()
    page.wait_for_function("() => document.getElementById('charts').dataset.state === 'drawn'")
    assert page.evaluate("() => runyard.charts.loss.plot.scales.y.distr") == 3
    # another run overlaid
    page.locator("input[name=overlay]").fill(runs.failed.id)
    page.locator("input[name=overlay]").press("Enter")
    page.locator("input[name=overlay]").evaluate("e => e.dispatchEvent(new Event('change', "
                                                 "{bubbles: true}))")
    page.wait_for_function("() => runyard.charts.accuracy && "
                           "Object.keys(runyard.charts.accuracy.series).length === 2")


def test_a_failed_run_shows_its_error(tab: Page, runs: Runs) -> None:
    texts = _visit_tabs(tab, runs.failed)
    assert "Failed" in texts["overview"]
    page = tab.open(f"/runs/{runs.failed.id}")
    assert "the loss went NaN at step 7" in page.locator("#run-error").inner_text()
    assert "about to fail" in texts["outputs"]


def test_a_distributed_run_shows_one_log_per_process(tab: Page, runs: Runs) -> None:
    texts = _visit_tabs(tab, runs.distributed)
    assert "logs/worker_0.txt" in texts["outputs"]
    assert "logs/worker_1.txt" in texts["outputs"]
    assert "I am worker 0" in texts["outputs"]
    assert "I am worker 1" in texts["outputs"]
    assert "worker_count" in texts["overview"]
    tab.open(f"/runs/{runs.distributed.id}/outputs")
    tab.shot("logs")


def test_an_active_runs_log_follows_live(tab: Page, runs: Runs) -> None:
    page = tab.open(f"/runs/{runs.active.id}/outputs")
    assert "following live" in page.locator("h3", has_text="Logs").inner_text()
    assert "waiting for the go" in page.locator("pre[data-log='logs/driver_0.txt']").inner_text()
    marker = f"marker-{time.time_ns()}"
    written = time.monotonic()
    (runs.signals / "go").write_text(marker)
    page.locator("pre[data-log='logs/driver_0.txt']", has_text=f"LIVE {marker}").wait_for(
        timeout=10_000)
    latency = time.monotonic() - written
    text = page.locator("pre[data-log='logs/driver_0.txt']").inner_text()
    assert text.count("waiting for the go") == 1  # nothing shown twice
    assert latency < 5, latency  # the target is < 1 s (bench/ui.py measures it)
    texts = _visit_tabs(tab, runs.active)
    assert "Running" in texts["overview"]


def test_an_active_runs_overview_follows_it_to_its_end(tab: Page, runs: Runs) -> None:
    page = tab.open(f"/runs/{runs.ending.id}")
    assert "Running" in page.locator("#summary").inner_text()
    (runs.ending_signals / "go").write_text("")
    (runs.ending_signals / "stop").write_text("")
    page.locator("#summary", has_text="Completed").wait_for(timeout=30_000)
    assert page.locator("#timeline .stage-completed").count() == 0  # (the end has no width)
    assert "Finalizing" in page.locator("#stages").inner_text()


def test_a_sweep_parent_shows_children_best_first_and_parallel_coordinates(
        tab: Page, runs: Runs) -> None:
    texts = _visit_tabs(tab, runs.sweep)
    assert "sweep" in texts
    page = tab.open(f"/runs/{runs.sweep.id}/sweep")
    rows = page.locator("#sweep-children tbody tr")
    assert rows.count() == 6
    best = [float(v) for v in page.locator("#sweep-children tbody td:nth-child(4)")
            .all_inner_texts()]
    assert best == sorted(best, reverse=True)
    assert best[0] == pytest.approx(0.3 * 2 * 3)
    assert page.locator("#parallel").get_attribute("data-runs") == "6"
    assert "no child was stopped early" in page.locator("#early-stops").inner_text()
    tab.shot("sweep")
    assert len(re.findall("Completed", texts["children"])) == 6


def test_a_sweep_parent_shows_its_early_stop_decisions(tab: Page, runs: Runs) -> None:
    bad = next(c for c in runs.bandit.get_children()
               if c.get_hyperparameters()["--curve"] == "bad")
    assert bad.get_status() == "Canceled"
    page = tab.open(f"/runs/{runs.bandit.id}/sweep")
    stops = page.locator("#early-stops li")
    assert stops.count() == 1
    assert bad.id in stops.inner_text()
    assert "Bandit policy at interval" in stops.inner_text()
    assert bad.get_tags()["early_termination"] in stops.inner_text()
    assert "compute saved" in page.locator("#sweep-summary").inner_text()
    rows = page.locator("#sweep-children tbody tr")
    assert "Canceled" in rows.nth(1).inner_text()  # 0.1 < 0.9: second
    assert bad.id in rows.nth(1).inner_text()


def test_models_compute_and_compare(tab: Page, runs: Runs) -> None:
    page = tab.open("/models")
    row = page.locator("#models tbody tr", has_text="ui-model")
    assert "stage=test" in row.inner_text()
    assert runs.completed.id in row.inner_text()
    row.get_by_role("link", name=runs.completed.id).click()
    page.wait_for_selector("#summary")
    page = tab.open("/compute")
    local = page.locator("section[data-target='local']")
    assert "127.0.0.1" in local.inner_text()
    assert runs.active.id in local.inner_text()
    # compare two runs picked in the runs table
    page = tab.open("/runs?experiment=ui-tests&metrics=accuracy")
    for run in (runs.completed, runs.failed):
        page.locator(f"#runs tr[data-run-id='{run.id}'] input[type=checkbox]").check()
    page.locator("#compare-selected").click()
    page.wait_for_selector("#compare")
    assert runs.completed.id in page.url
    assert runs.failed.id in page.url
    table = page.locator("#compare").inner_text()
    assert "accuracy" in table
    assert "Failed" in table
    assert "Completed" in table
    page.wait_for_function("() => document.getElementById('charts').dataset.state === 'drawn'")
    # three of the sweep's children: their parameters side by side, their curves overlaid
    children = [c.id for c in runs.sweep.get_children()][:3]
    page = tab.open("/compare?runs=" + ",".join(children))
    assert page.locator("#compare tr.param").count() == 2  # --lr, --layers
    page.wait_for_function("() => document.getElementById('charts').dataset.state === 'drawn'")
    assert page.evaluate("() => Object.keys(runyard.charts.acc.series).length") == 3
    tab.shot("compare")
    tab.open("/compare?runs=" + runs.completed.id)
    assert "2 to 10 runs" in page.locator("#compare-problem").inner_text()


# -- security -------------------------------------------------------------------------------
def test_a_script_tag_in_a_tag_shows_as_text_and_runs_nothing(tab: Page, runs: Runs) -> None:
    page = tab.open(f"/runs/{runs.completed.id}")
    assert XSS_TAG in page.locator("#tags").inner_text()
    page = tab.open("/runs?experiment=ui-tests")
    assert XSS_TAG in page.locator("#runs").inner_text()
    tab.open(f"/compare?runs={runs.completed.id},{runs.distributed.id}")
    assert XSS_TAG in page.locator("#compare").inner_text()
    assert XSS_METRIC in page.locator("#compare").inner_text()
    tab.open(f"/runs/{runs.distributed.id}/metrics")
    page.wait_for_function("() => document.getElementById('charts').dataset.state === 'drawn'")
    assert XSS_METRIC in page.locator("#metric-values").inner_text()
    assert page.locator(f".chart[data-metric={json.dumps(XSS_METRIC)}]").count() == 1
    page.wait_for_timeout(300)
    assert tab.dialogs == []  # (Page.close also fails the test on a dialog)


def test_a_server_with_a_token_refuses_pages_without_it(browser: Any, runs: Runs) -> None:
    token = "s3cret-token"
    served = Server(runs.workspace, token=token)
    try:
        page = Page(browser, served.url)
        page.refusals_expected = True
        response = page.page.goto(served.url + "/runs")
        assert response is not None
        assert response.status in (401, 403)
        assert runs.completed.id not in page.page.content()
        page.open(f"/runs?token={token}")
        assert page.page.locator(f"#runs tr[data-run-id='{runs.completed.id}']").count() == 1
        # the token is kept for the next page (its charts' API calls too)
        page.open(f"/runs/{runs.completed.id}/metrics")
        page.page.wait_for_function(
            "() => document.getElementById('charts').dataset.state === 'drawn'")
        page.page.context.clear_cookies()
        assert page.page.goto(served.url + "/models").status in (401, 403)  # type: ignore[union-attr]
        page.close()
    finally:
        served.stop()


def test_the_wheel_ships_the_templates_and_static_files_with_their_licenses(
        tmp_path: Path) -> None:
    root = Path(__file__).parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", str(root), "-w", str(tmp_path)], check=True, capture_output=True,
                   cwd=tmp_path)
    import zipfile

    (wheel,) = tmp_path.glob("runyard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    source = root / "src"
    shipped = {p.relative_to(source).as_posix()
               for folder in ("templates", "static")
               for p in (source / "runyard" / "ui" / folder).rglob("*") if p.is_file()}
    assert shipped <= names, shipped - names
    assert {"runyard/ui/static/vendor/htmx-LICENSE.txt",
            "runyard/ui/static/vendor/uPlot-LICENSE.txt"} <= names
