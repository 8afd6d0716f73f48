"""runyard's benchmark: a report, side by side with its anchors, as one markdown table.

Usage: .venv/bin/python bench/run.py [--quick] [--skip-mlflow] [--only submit|log|store]

Rows (see bench/README.md):
1. submit → first line of the script (the supervisor forked by the fork server, and by
   exec as before it), against plain `python script.py`;
2. `run.log` calls/s inside a submitted script, against `mlflow.log_metric` calls/s;
3. metric points/s from a submitted script's first log call into the store, against
   `MlflowClient.log_batch` points/s.

MLflow runs only in its own virtualenv, bench/.venv-mlflow, created here when missing.
Everything else happens in a temporary folder that is removed at the end; the only
processes ended are the ones this benchmark started.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import TERMINAL, say, status_of, stop_runs

BENCH = Path(__file__).resolve().parent
SCRIPTS = BENCH / "scripts"
MLFLOW_VERSION = "3.17.2"
MLFLOW_VENV = BENCH / ".venv-mlflow"
MLFLOW_MARKER = MLFLOW_VENV / f".installed-mlflow-{MLFLOW_VERSION}"
INSTALL_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 300

SIZES: dict[str, dict[str, int]] = {
    "full": {"warmups": 2, "submits": 10, "log_calls": 1_000_000, "store_points": 500_000,
             "repeats": 3, "mlflow_calls": 2_000, "mlflow_points": 50_000,
             "mlflow_batch": 1_000},
    "quick": {"warmups": 1, "submits": 5, "log_calls": 200_000, "store_points": 100_000,
              "repeats": 1, "mlflow_calls": 300, "mlflow_points": 10_000,
              "mlflow_batch": 1_000},
}



# -- results ------------------------------------------------------------------------------
@dataclass
class Results:
    submit_s: list[float] = field(default_factory=list)        # runyard, submit → line 1
    submit_exec_s: list[float] = field(default_factory=list)   # the same, RUNYARD_ZYGOTE=0
    submit_forked: int = 0                                     # of submit_s: by the server
    submit_return_s: list[float] = field(default_factory=list)  # how long submit() blocked
    plain_s: list[float] = field(default_factory=list)         # python script.py → line 1
    log_rates: list[float] = field(default_factory=list)        # run.log calls/s
    store_rates: list[float] = field(default_factory=list)      # points/s into the store
    store_loop_s: list[float] = field(default_factory=list)     # the script's logging loop
    store_total_s: list[float] = field(default_factory=list)    # first log → all stored
    mlflow: dict[str, Any] | None = None
    mlflow_problem: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


# -- the MLflow virtualenv ----------------------------------------------------------------
def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def ensure_mlflow_venv() -> str | None:
    """Create bench/.venv-mlflow with MLflow if needed; None when ready, else why not."""
    python = MLFLOW_VENV / "bin" / "python"
    if MLFLOW_MARKER.is_file() and python.is_file():
        say(f"MLflow {MLFLOW_VERSION}: using {shown(MLFLOW_VENV)}")
        return None
    say(f"MLflow {MLFLOW_VERSION}: creating {shown(MLFLOW_VENV)} "
        f"(the first time takes a few minutes)")
    if MLFLOW_VENV.exists() and not python.is_file():
        shutil.rmtree(MLFLOW_VENV)  # a half-made virtualenv from an interrupted run
    if not python.is_file():
        base = shutil.which("python3") or sys.executable
        made = subprocess.run([base, "-m", "venv", str(MLFLOW_VENV)], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        if made.returncode != 0:
            return (f"`{base} -m venv {MLFLOW_VENV}` failed (exit {made.returncode}): "
                    f"{(made.stderr or made.stdout).strip()[-500:]}")
    command = [str(python), "-m", "pip", "install", "--progress-bar", "off",
               f"mlflow=={MLFLOW_VERSION}"]
    say(f"  $ {' '.join(command)}")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, env=env)
    timer = threading.Timer(INSTALL_TIMEOUT_S, process.kill)
    timer.start()
    lines: list[str] = []
    started = time.monotonic()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            lines.append(line)
            # one line per package (Collecting ..., Installing ..., errors), not the detail
            if line and not line.startswith(" "):
                say(f"  [pip {time.monotonic() - started:5.0f} s] {line[:160]}")
        returncode = process.wait()
    finally:
        timer.cancel()
    if returncode != 0:
        tail = "\n".join(f"    {x[:300]}" for x in lines[-15:])
        why = "timed out" if returncode == -signal.SIGKILL else f"exit {returncode}"
        return (f"`pip install mlflow=={MLFLOW_VERSION}` into {MLFLOW_VENV} failed "
                f"({why}); last pip lines:\n{tail}")
    MLFLOW_MARKER.write_text(f"mlflow=={MLFLOW_VERSION}\n")
    say(f"MLflow {MLFLOW_VERSION}: installed in {time.monotonic() - started:.0f} s")
    return None


def run_mlflow_anchor(size: dict[str, int], tmp: Path) -> dict[str, Any]:
    """The helper in MLflow's virtualenv, on MLflow's default store, in a temp folder."""
    cwd = tmp / "mlflow-cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "RUNYARD_")) and k != "VIRTUAL_ENV"}
    # no network here; keep MLflow from trying to send usage data
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    command = [str(MLFLOW_VENV / "bin" / "python"), str(BENCH / "mlflow_anchor.py"),
               str(size["mlflow_calls"]), str(size["mlflow_points"]),
               str(size["mlflow_batch"])]
    # progress lines come on stderr as they happen; stdout is one JSON line at the end
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(900, process.kill)
    timer.start()
    try:
        assert process.stderr is not None
        assert process.stdout is not None
        errors: list[str] = []
        for line in process.stderr:
            errors.append(line.rstrip())
            if line.startswith("  [mlflow]"):
                say(line.rstrip())
        out = process.stdout.read()
        returncode = process.wait()
    finally:
        timer.cancel()
    if returncode != 0:
        raise RuntimeError(f"mlflow_anchor.py exited {returncode}:\n" + "\n".join(errors[-15:]))
    result = dict(json.loads(out.strip().splitlines()[-1]))
    # the folder is gone after the run: say where the store was relative to the cwd
    result["tracking_uri_shown"] = str(result["tracking_uri"]).replace(str(cwd),
                                                                       "<temp cwd>")
    return result


# -- runyard ------------------------------------------------------------------------------
class Bench:
    """A temporary workspace, the runs submitted to it, and cleanup of what is left."""

    def __init__(self, tmp: Path) -> None:
        from runyard import Experiment, Workspace

        self.tmp = tmp
        self.workspace = Workspace.create("bench", path=tmp / "workspace")
        self.experiment = Experiment(self.workspace, "bench")
        self.runs: list[Any] = []
        self._sources: dict[str, Path] = {}

    def source(self, script: str) -> Path:
        """A source folder holding only `script` (a copy), so the snapshot is that file."""
        if script not in self._sources:
            folder = self.tmp / f"src-{Path(script).stem}"
            folder.mkdir()
            shutil.copy2(SCRIPTS / script, folder / script)
            self._sources[script] = folder
        return self._sources[script]

    def submit(self, script: str, arguments: list[str]) -> Any:
        from runyard import ScriptRunConfig

        run = self.experiment.submit(ScriptRunConfig(str(self.source(script)), script,
                                                     arguments=arguments))
        self.runs.append(run)
        return run

    def finish(self, run: Any) -> None:
        """Wait for the end state; raise with the run's own words if it did not complete."""
        run.wait_for_completion(raise_on_error=True, timeout_seconds=RUN_TIMEOUT_S)

    def close(self) -> None:
        """Stop every run of ours still active (cancel, then kill its supervisor)."""
        stop_runs(self.workspace, self.runs, cancel_wait=15)


def wait_for_file(path: Path, timeout: float, alive: Callable[[], bool]) -> str:
    """Poll for `path` (written atomically); `alive` says whether waiting still makes sense."""
    deadline = time.monotonic() + timeout
    next_check = time.monotonic() + 0.5
    while True:
        try:
            return path.read_text()
        except FileNotFoundError:
            pass
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"{path.name} did not appear within {timeout:.0f} s")
        if now > next_check:
            next_check = now + 0.5
            if not alive():
                try:
                    return path.read_text()
                except FileNotFoundError:
                    raise RuntimeError(f"the process ended without writing {path.name}") \
                        from None
        time.sleep(0.001)


def run_alive(run: Any) -> Callable[[], bool]:
    return lambda: status_of(run) not in TERMINAL


class ForkServer:
    """The fork server of this benchmark's submits, in a folder of its own (so the
    measure never uses one that other processes of this user started), stopped at the
    end (runyard.supervisor._zygote)."""

    def __init__(self, tmp: Path) -> None:
        from runyard.supervisor._start import paths, start_key

        self.folder = tmp / "zygote"
        self.folder.mkdir(mode=0o700)
        os.environ["RUNYARD_ZYGOTE_DIR"] = str(self.folder)
        self.sock, self.lock, self.log = paths(self.folder, start_key(os.environ))

    def wait_ready(self, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while not self.sock.exists():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def forked(self, run_id: str) -> bool:
        text = self.log.read_text() if self.log.exists() else ""
        return f"forked the supervisor of {run_id}:" in text

    def stop(self) -> None:
        os.environ.pop("RUNYARD_ZYGOTE_DIR", None)
        try:
            pid = int(self.lock.read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"runyard.supervisor._zygote" in command:  # ours, still running
            os.kill(pid, signal.SIGTERM)


def submit_once(bench: Bench, target: Path) -> tuple[Any, float, float, float]:
    """(run, before, returned, the script's first line): one submit of first_line.py."""
    before = time.time()
    run = bench.submit("first_line.py", [str(target)])
    returned = time.time()
    started = float(wait_for_file(target, RUN_TIMEOUT_S, run_alive(run)))
    bench.finish(run)
    return run, before, returned, started


def measure_submit(bench: Bench, size: dict[str, int], results: Results) -> None:
    """Submit → first line (the supervisor forked by the fork server, as every submit
    after the first), interleaved with the same submit by exec (RUNYARD_ZYGOTE=0, as
    before the server) and with plain `python first_line.py` started the same way."""
    script = "first_line.py"
    plain_script = bench.source(script) / script
    server = ForkServer(bench.tmp)
    try:
        total = size["warmups"] + size["submits"]
        for index in range(total):
            warm = index < size["warmups"]
            label = f"warm-up {index + 1}" if warm else f"{index - size['warmups'] + 1}/" \
                                                        f"{size['submits']}"
            if index == size["warmups"] and not server.wait_ready():
                say("  the fork server did not start: every submit goes by exec")
            run, before, returned, started = submit_once(
                bench, bench.tmp / f"first-line-runyard-{index}.txt")
            forked = server.forked(run.id)

            os.environ["RUNYARD_ZYGOTE"] = "0"
            try:
                _run, exec_before, _returned, exec_started = submit_once(
                    bench, bench.tmp / f"first-line-exec-{index}.txt")
            finally:
                del os.environ["RUNYARD_ZYGOTE"]

            target = bench.tmp / f"first-line-plain-{index}.txt"
            plain_before = time.time()
            process = subprocess.Popen([sys.executable, str(plain_script), str(target)],
                                       cwd=bench.tmp, stdin=subprocess.DEVNULL)
            plain_started = float(wait_for_file(target, 60,
                                                lambda p=process: p.poll() is None))
            if process.wait() != 0:
                raise RuntimeError(f"plain python {script} exited {process.returncode}")

            runyard_s, plain_s = started - before, plain_started - plain_before
            exec_s = exec_started - exec_before
            say(f"  submit {label}: runyard {runyard_s:.3f} s "
                f"({'fork server' if forked else 'exec'}; submit() returned after "
                f"{returned - before:.3f} s), by exec {exec_s:.3f} s, plain python "
                f"{plain_s:.3f} s")
            if not warm:
                results.submit_s.append(runyard_s)
                results.submit_return_s.append(returned - before)
                results.submit_exec_s.append(exec_s)
                results.plain_s.append(plain_s)
                results.submit_forked += forked
    finally:
        server.stop()


def measure_log_rate(bench: Bench, size: dict[str, int], results: Results) -> None:
    calls = size["log_calls"]
    for index in range(size["repeats"]):
        run = bench.submit("log_rate.py", [str(calls)])
        bench.finish(run)
        metrics = run.get_metrics()
        rate = float(metrics["log_calls_per_s"])
        results.log_rates.append(rate)
        say(f"  run.log {index + 1}/{size['repeats']}: {calls:,} calls in "
            f"{float(metrics['log_seconds']):.3f} s = {rate:,.0f} calls/s")


def measure_store_rate(bench: Bench, size: dict[str, int], results: Results) -> None:
    points = size["store_points"]
    store = bench.workspace.store
    for index in range(size["repeats"]):
        target = bench.tmp / f"store-rate-{index}.txt"
        run = bench.submit("store_rate.py", [str(points), str(target)])
        deadline = time.monotonic() + RUN_TIMEOUT_S
        next_check = time.monotonic() + 1
        while (count := store.count_metrics(run.id)) < points:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"only {count:,} of {points:,} points reached the store "
                                   f"within {RUN_TIMEOUT_S} s")
            if now > next_check:
                next_check = now + 1
                if status_of(run) in TERMINAL and store.count_metrics(run.id) < points:
                    raise RuntimeError(f"run ended {status_of(run)} with only "
                                       f"{store.count_metrics(run.id):,} of {points:,} "
                                       f"points stored")
            time.sleep(0.02)
        stored_at = time.time()
        first, last = (float(x) for x in
                       wait_for_file(target, 60, run_alive(run)).split())
        bench.finish(run)
        if count != points:
            raise RuntimeError(f"the store holds {count:,} points for the run, "
                               f"expected {points:,}")
        rate = points / (stored_at - first)
        results.store_rates.append(rate)
        results.store_loop_s.append(last - first)
        results.store_total_s.append(stored_at - first)
        say(f"  store {index + 1}/{size['repeats']}: {points:,} points stored "
            f"{stored_at - first:.3f} s after the first log call (the logging loop took "
            f"{last - first:.3f} s) = {rate:,.0f} points/s")


# -- the report ---------------------------------------------------------------------------
def rate(value: float) -> str:
    return f"{value:,.0f} /s"


def ratio(value: float) -> str:
    return f"{value:,.0f}×" if value >= 100 else f"{value:,.1f}×"


def yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def table(rows: list[list[str]]) -> str:
    header = ["measure", "runyard", "anchor", "ratio", "target", "met?"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def report(results: Results, size: dict[str, int], mode: str,
           only: str | None = None) -> str:
    rows: list[list[str]] = []
    mlflow = results.mlflow
    missing = "n/a (MLflow " + ("failed" if results.mlflow_problem else "skipped") + ")"

    name = f"submit → first line of the script (median of {size['submits']})"
    if results.submit_s and results.plain_s:
        runyard_s = statistics.median(results.submit_s)
        plain_s = statistics.median(results.plain_s)
        rows.append([name, f"{runyard_s:.3f} s", f"{plain_s:.3f} s (plain python)",
                     ratio(runyard_s / plain_s), "runyard ≤ 0.2 s", yes(runyard_s <= 0.2)])
        if results.submit_exec_s:
            exec_s = statistics.median(results.submit_exec_s)
            rows.append([name.replace("script", "script, by exec (RUNYARD_ZYGOTE=0)"),
                         f"{exec_s:.3f} s", f"{plain_s:.3f} s (plain python)",
                         ratio(exec_s / plain_s), "(before the fork server)", "—"])
    elif only in (None, "submit"):
        rows.append([name, "error", "", "", "runyard ≤ 0.2 s", "n/a"])

    name = f"run.log calls/s in a submitted script ({size['log_calls']:,} calls)"
    target = "≥ 500,000 /s; ratio ≥ 1,000×"
    if results.log_rates:
        value = statistics.median(results.log_rates)
        if mlflow:
            anchor_value = float(mlflow["log_metric_calls_per_s"])
            rows.append([name, rate(value), f"{rate(anchor_value)} (MLflow log_metric)",
                         ratio(value / anchor_value), target,
                         f"{yes(value >= 500_000)}; {yes(value / anchor_value >= 1_000)}"])
        else:
            rows.append([name, rate(value), missing, "n/a", target,
                         f"{yes(value >= 500_000)}; n/a"])
    elif only in (None, "log"):
        rows.append([name, "error", "", "", target, "n/a"])

    name = f"metric points/s into the store, end to end ({size['store_points']:,} points)"
    target = "≥ 200,000 /s"
    if results.store_rates:
        value = statistics.median(results.store_rates)
        if mlflow:
            anchor_value = float(mlflow["log_batch_points_per_s"])
            rows.append([name, rate(value), f"{rate(anchor_value)} (MLflow log_batch)",
                         ratio(value / anchor_value), target, yes(value >= 200_000)])
        else:
            rows.append([name, rate(value), missing, "n/a", target, yes(value >= 200_000)])
    elif only in (None, "store"):
        rows.append([name, "error", "", "", target, "n/a"])

    notes = [
        "",
        f"mode: {mode}; {os.cpu_count()} CPUs, Linux {platform.release()}, Python "
        f"{platform.python_version()}; ratio = runyard ÷ anchor (for the submit row: how "
        f"many times longer than plain python).",
    ]
    if mode == "quick":
        notes.append("quick mode: fewer points, so fixed latencies weigh more; judge the "
                     "targets on the full run.")
    if results.submit_s:
        notes.append(
            f"submit: runyard {min(results.submit_s):.3f}–{max(results.submit_s):.3f} s, "
            f"by exec {min(results.submit_exec_s):.3f}–{max(results.submit_exec_s):.3f} s, "
            f"plain python {min(results.plain_s):.3f}–{max(results.plain_s):.3f} s; "
            f"submit() itself returned after {statistics.median(results.submit_return_s):.3f}"
            f" s (median); {results.submit_forked} of {len(results.submit_s)} measured "
            f"submits were forked by the fork server (the rest by exec).")
    if results.log_rates:
        notes.append("run.log: " + ", ".join(f"{r:,.0f}" for r in results.log_rates)
                     + f" calls/s over {len(results.log_rates)} run(s).")
    if results.store_rates:
        notes.append(
            "store: " + ", ".join(f"{r:,.0f}" for r in results.store_rates)
            + " points/s; first log → all stored "
            + ", ".join(f"{s:.3f}" for s in results.store_total_s)
            + " s, of which the script's logging loop "
            + ", ".join(f"{s:.3f}" for s in results.store_loop_s) + " s.")
    if mlflow:
        notes.append(
            f"MLflow {mlflow['mlflow_version']} (Python {mlflow['python']}), default "
            f"tracking store (mlflow.get_tracking_uri()): {mlflow['tracking_uri_shown']}; "
            f"log_metric: "
            f"{mlflow['log_metric_calls']:,} calls in {mlflow['log_metric_s']:.2f} s; "
            f"log_batch: {mlflow['log_batch_points']:,} points in batches of "
            f"{mlflow['log_batch_size']:,} in {mlflow['log_batch_s']:.2f} s "
            f"({mlflow['log_batch_points_stored']:,} stored).")
    elif results.mlflow_problem:
        notes.append("MLflow anchors missing: " + results.mlflow_problem.splitlines()[0])
    for what, error in results.errors.items():
        notes.append(f"ERROR in {what}: {error.splitlines()[0] if error else '?'}")
    return table(rows) + "\n" + "\n".join(notes)


# -- main ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer submits, fewer points, one run of each (a minute or so)")
    parser.add_argument("--skip-mlflow", action="store_true",
                        help="no MLflow anchors (and no MLflow virtualenv)")
    parser.add_argument("--only", choices=["submit", "log", "store"],
                        help="measure only this row (implies --skip-mlflow for 'submit')")
    args = parser.parse_args(argv)
    if args.only == "submit":
        args.skip_mlflow = True
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    results = Results()

    if args.skip_mlflow:
        mlflow_ready = False
    else:
        try:
            results.mlflow_problem = ensure_mlflow_venv()
        except Exception as e:
            results.mlflow_problem = f"setting up {MLFLOW_VENV} failed: {e}"
        if results.mlflow_problem:
            say("")
            say(f"!! MLflow {MLFLOW_VERSION} could not be installed; the MLflow anchors "
                f"will read n/a. {results.mlflow_problem}")
            say("")
        mlflow_ready = results.mlflow_problem is None

    tmp = Path(tempfile.mkdtemp(prefix="runyard-bench-"))
    try:
        steps: list[tuple[str, Callable[[Bench, dict[str, int], Results], None]]] = [
            ("submit → first line", measure_submit),
            ("run.log calls/s", measure_log_rate),
            ("points/s into the store", measure_store_rate),
        ]
        if args.only:
            keep = {"submit": 0, "log": 1, "store": 2}[args.only]
            steps = [steps[keep]]
        for number, (what, step) in enumerate(steps, 1):
            say(f"[{number}/4] runyard: {what}")
            folder = tmp / f"runyard-{number}"  # a fresh workspace each: no order effects
            folder.mkdir()
            bench = None
            try:
                bench = Bench(folder)
                step(bench, size, results)
            except Exception as e:
                results.errors[what] = f"{type(e).__name__}: {e}"
                say(f"  FAILED: {traceback.format_exc()}")
            finally:
                if bench is not None:
                    try:
                        bench.close()
                    except Exception as e:
                        say(f"  cleaning up after {what} failed: {e}")
        if mlflow_ready:
            say("[4/4] MLflow anchors (log_metric, log_batch) on MLflow's default store")
            try:
                results.mlflow = run_mlflow_anchor(size, tmp)
            except Exception as e:
                results.mlflow_problem = f"the MLflow helper failed: {e}"
                say(f"  FAILED: {results.mlflow_problem}")
        else:
            say("[4/4] MLflow anchors: not run ("
                + ("--skip-mlflow" if args.skip_mlflow else "MLflow is not installed") + ")")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    say("")
    say(report(results, size, mode, args.only))
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
