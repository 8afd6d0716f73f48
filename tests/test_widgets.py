"""The notebook widget (`runyard.widgets.RunDetails`, v1's `azureml.widgets.RunDetails`):
in a real Jupyter kernel (jupyter_client + ipykernel) it displays the run and updates the
display while the run goes on; outside Jupyter it prints the run page's address."""

from __future__ import annotations

import json
import queue
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import ValidationError
from runyard.widgets import RunDetails
from runyard.widgets._data import downsample, read_run
from runyard.widgets._html import render

from .conftest import wait_for

# logs `loss` once a step and a line per step until the file named by its argument exists
GATED_SCRIPT = """
    import os, sys, time
    from runyard import Run
    run = Run.get_context()
    step = 0
    while not os.path.exists(sys.argv[1]) and step < 600:
        run.log("loss", 1.0 / (step + 1))
        print(f"epoch {step} done", flush=True)
        step += 1
        time.sleep(0.1)
    run.log("final", 7)
    print("<script>alert(1)</script>", flush=True)
"""


def _submit(experiment: Experiment, source: Callable[..., Path], gate: Path) -> Run:
    folder = source(textwrap.dedent(GATED_SCRIPT))
    return experiment.submit(ScriptRunConfig(str(folder), "train.py", arguments=[str(gate)]))


def test_outside_jupyter_show_prints_the_run_page_address(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    gate = tmp_path / "go"
    gate.touch()
    run = _submit(experiment, source, gate)
    run.wait_for_completion()
    RunDetails(run).show()
    shown = capsys.readouterr().out
    assert f"Run {run.id} (tests): Completed" in shown
    assert f"its page: {run.get_portal_url()}" in shown
    assert run.get_portal_url().startswith("http://127.0.0.1:")
    assert run.get_portal_url().endswith(f"/runs/{run.id}")
    assert "final: 7" in shown
    data = RunDetails(run).get_widget_data()
    assert data["status"] == "Completed"
    assert data["terminal"]
    assert [s["status"] for s in data["stages"]][-1] == "Completed"
    assert data["log_tail"][-1] == "<script>alert(1)</script>"


def test_the_html_escapes_what_the_run_wrote_and_keeps_a_spike(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    gate = tmp_path / "go"
    gate.touch()
    run = _submit(experiment, source, gate)
    run.wait_for_completion()
    html = render(read_run(run))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-status="Completed"' in html
    points = [(float(i), 0.0) for i in range(100_000)]
    points[54_321] = (54_321.0, 99.0)
    kept = downsample(points)
    assert len(kept) <= 400
    assert (54_321.0, 99.0) in kept


def test_bad_input_is_refused(experiment: Experiment) -> None:
    with pytest.raises(ValidationError, match="a submitted run"):
        RunDetails("not a run")
    run = experiment.start_logging()
    with pytest.raises(ValidationError, match="refresh_seconds must be > 0"):
        RunDetails(run, refresh_seconds=0)
    with pytest.raises(ValidationError, match="render_lib must be one of ipywidgets, html"):
        RunDetails(run).show(render_lib="matplotlib")
    with pytest.raises(ValidationError, match="must be a number > 0, not 'soon'"):
        RunDetails(run).show(widget_settings={"refresh_seconds": "soon"})
    run.complete()


# -- a real Jupyter kernel -------------------------------------------------------------------

@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real IPython kernel of this interpreter (a kernelspec of its own, so a system
    `python3` kernelspec of another Python is never the one started)."""
    pytest.importorskip("ipykernel")
    from jupyter_client.manager import start_new_kernel

    spec = tmp_path / "jupyter" / "kernels" / "runyard-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "runyard test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    manager, client = start_new_kernel(kernel_name="runyard-test", startup_timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _execute(client: Any, code: str) -> None:
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda _m: None)
    assert reply["content"]["status"] == "ok", reply["content"]


def _iopub(client: Any, until: Callable[[list[dict[str, Any]]], bool],
           timeout: float = 60) -> list[dict[str, Any]]:
    """iopub messages until `until(messages)` holds."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(messages):
        left = deadline - time.monotonic()
        assert left > 0, [m["msg_type"] for m in messages]
        try:
            messages.append(client.get_iopub_msg(timeout=min(left, 1.0)))
        except queue.Empty:
            continue
    return messages


def _html_of(message: dict[str, Any]) -> str | None:
    kind = message["msg_type"]
    if kind in ("display_data", "update_display_data"):
        html = message["content"]["data"].get("text/html")
        return str(html) if html is not None else None
    if kind in ("comm_open", "comm_msg"):
        state = message["content"].get("data", {}).get("state", {})
        value = state.get("value")
        return str(value) if isinstance(value, str) and "runyard-run" in value else None
    return None


def _kernel_code(workspace: Workspace, run: Run, render_lib: str) -> str:
    return textwrap.dedent(f"""
        from runyard import Run, Workspace
        from runyard.widgets import RunDetails
        ws = Workspace.from_config({str(workspace.path)!r})
        details = RunDetails(Run.get(ws, {run.id!r}), refresh_seconds=0.3)
        details.show(render_lib={render_lib!r})
    """)


@pytest.mark.slow
@pytest.mark.parametrize("render_lib", ["html", "ipywidgets"])
def test_in_jupyter_the_widget_shows_and_updates_while_the_run_goes_on(
        kernel: Any, workspace: Workspace, experiment: Experiment,
        source: Callable[..., Path], tmp_path: Path, render_lib: str) -> None:
    if render_lib == "ipywidgets":
        pytest.importorskip("ipywidgets")
    gate = tmp_path / "go"
    run = _submit(experiment, source, gate)
    wait_for(lambda: len(run.get_metrics().get("loss", [])) >= 3
             if isinstance(run.get_metrics().get("loss"), list) else False, timeout=60)
    kernel.execute(_kernel_code(workspace, run, render_lib))
    first_kind = "display_data" if render_lib == "html" else "comm_open"
    update_kind = "update_display_data" if render_lib == "html" else "comm_msg"

    def htmls(messages: list[dict[str, Any]], kind: str) -> list[str]:
        return [h for m in messages if m["msg_type"] == kind and (h := _html_of(m))]

    seen = _iopub(kernel, lambda ms: len(htmls(ms, update_kind)) >= 3)
    first = htmls(seen, first_kind)[0]
    assert f'data-run-id="{run.id}"' in first
    assert 'data-status="Running"' in first
    assert 'data-metric="loss"' in first          # the chart
    assert "runyard-timeline" in first
    assert " done" in first.split("runyard-log")[1]  # the log tail
    if render_lib == "html":
        display_id = seen[[m["msg_type"] for m in seen].index("display_data")][
            "content"]["transient"]["display_id"]
        assert all(m["content"]["transient"]["display_id"] == display_id
                   for m in seen if m["msg_type"] == update_kind)
    # the updates show the run going on: more points of the chart, later epochs
    updates = htmls(seen, update_kind)
    assert updates[-1] != first
    epochs = [max(int(line.split()[1]) for line in h.split("\n") if line.startswith("epoch "))
              for h in (first, updates[-1])]
    assert epochs[1] > epochs[0]

    gate.touch()
    run.wait_for_completion(timeout_seconds=60)
    more = _iopub(kernel, lambda ms: any('data-status="Completed"' in h
                                         for h in htmls(ms, update_kind)))
    last = htmls(more, update_kind)[-1]
    assert "final" in last
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in last
    assert "<script>" not in last
    # the run ended: the thread stopped refreshing
    kernel.execute("import time; time.sleep(1.0); print(details.refreshing)")
    printed = _iopub(kernel, lambda ms: any(m["msg_type"] == "stream" for m in ms))
    assert [m["content"]["text"].strip() for m in printed if m["msg_type"] == "stream"] \
        == ["False"]


def test_importing_the_widget_imports_no_ipython() -> None:
    import subprocess

    code = ("import sys, runyard.widgets, runyard.azureml.widgets; "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('IPython', 'ipywidgets', 'ipykernel'))))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == []


@pytest.mark.slow
def test_a_sweeps_widget_lists_its_children_best_first(
        workspace: Workspace, source: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    from runyard.hyperdrive import GridParameterSampling, HyperDriveConfig, choice

    folder = source(textwrap.dedent("""
        import argparse
        from runyard import Run
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float)
        run = Run.get_context()
        for step in range(3):
            run.log("acc", parser.parse_args().lr * (step + 1))
    """))
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(folder), "train.py"),
        hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.1, 0.3)}),
        primary_metric_name="acc", primary_metric_goal="maximize",
        max_total_runs=2, max_concurrent_runs=2)
    sweep = Experiment(workspace, "sweep").submit(config)
    sweep.wait_for_completion(timeout_seconds=120)
    view = read_run(Run.get(workspace, sweep.id))
    assert view.primary_metric == "acc"
    assert [c.metric for c in view.children] == pytest.approx([0.9, 0.3])
    assert [c.hyperparameters["--lr"] for c in view.children] == [0.3, 0.1]
    html = render(view)
    table = html.split('class="runyard-children"')[1]
    assert table.index(view.children[0].run_id) < table.index(view.children[1].run_id)
    assert "best acc first" in html
    RunDetails(sweep).show()
    assert "child runs: 2 (2 Completed)" in capsys.readouterr().out
