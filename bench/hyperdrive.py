"""HyperDrive's benchmark (issue 14): what a sweep costs per trial, against Ray Tune, Optuna
and a bare subprocess, and what each early-termination policy saves.

Usage: .venv/bin/python bench/hyperdrive.py [--only overhead|saved] [--trials 40]
       [--concurrency 2] [--curves 16] [--skip-tune]

1. **Overhead per trial.** The same `--trials` trivial trials (scripts/curve.py: seed n's
   `learning` curve, 10 values, no sleeps), `--concurrency` at a time, one invocation:
   - runyard: a sweep on the local compute (`GridParameterSampling` over `--seed`,
     `NoTerminationPolicy`, `max_concurrent_runs=2`), every trial a full run; from just
     before `exp.submit` to the parent's end time in the store;
   - Ray Tune 2.60 with a function trainable on a local Ray, default settings and
     `reuse_actors=True` (scripts/curve_tune.py in bench/.venv-tune, made here when
     missing; `Tuner.fit()` timed, `ray.init()` not);
   - Optuna's `study.optimize(n_jobs=2)` (in-memory study) whose objective runs the trial
     as a subprocess (`curve.py --sink print`) and reports its values;
   - a bare Python subprocess per trial (`curve.py --sink print`), 2 threads.
   Per trial: wall ÷ trials, minus the script's own time (its first statement to its
   last, `script_seconds`) ÷ trials ÷ concurrency. The issue's figures (measured on the
   machine it was filed from) are printed beside these.
2. **Compute saved.** `--curves` seeded scripted curves (curve.py `learning`, 20 values,
   0.1 s apart), one sweep per policy (NoTermination, and v1's documented examples:
   Bandit(1, slack_factor=0.1, delay 5), MedianStopping(1, delay 5),
   TruncationSelection(20 %, 1, delay 5)), 2 children at a time (the local compute's
   slots on 2 cores): the compute-seconds of
   the children (start to end, from the store), how many were stopped, the best metric
   found; beside each, the replay's estimate (`HyperDriveRun.replay`) of the same policy
   over the NoTermination sweep's histories.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import TERMINAL, say, status_of, stop_runs

BENCH = Path(__file__).resolve().parent
SCRIPTS = BENCH / "scripts"
CURVE = SCRIPTS / "curve.py"
TUNE_VERSION = "2.60.0"
TUNE_VENV = BENCH / ".venv-tune"
TUNE_MARKER = TUNE_VENV / f".installed-ray-tune-{TUNE_VERSION}"
INSTALL_TIMEOUT_S = 1800
SWEEP_TIMEOUT_S = 900

# the figures, "measured here, 2 trials at a time" (seconds per trial)
REFERENCE_S = {"runyard sweep": None, "Ray Tune (default: a new actor each)": 1.09,
               "Ray Tune, reuse_actors=True": 0.073, "Optuna study.optimize + subprocess": 0.0076,
               "bare Python subprocess": 0.0115}
TARGET_S = 0.25


@dataclass
class Timing:
    """One way of running the trials: its wall time and each trial's own time."""

    name: str
    wall_s: float | None = None
    own_s: list[float] = field(default_factory=list)
    trials: int = 0
    note: str = ""

    def per_trial(self, concurrency: int) -> tuple[float, float, float] | None:
        """(wall per trial, the script's own time per trial, overhead per trial)."""
        if self.wall_s is None or not self.trials:
            return None
        wall = self.wall_s / self.trials
        own = sum(self.own_s) / self.trials / concurrency
        return wall, own, wall - own


# -- Ray Tune's virtualenv ------------------------------------------------------------------
def ensure_tune_venv() -> str | None:
    """Create bench/.venv-tune with ray[tune] if needed; None when ready, else why not."""
    python = TUNE_VENV / "bin" / "python"
    if TUNE_MARKER.is_file() and python.is_file():
        say(f"Ray Tune {TUNE_VERSION}: using {TUNE_VENV}")
        return None
    check = [str(python), "-c", f"import ray, ray.tune; assert ray.__version__ == {TUNE_VERSION!r}"]
    if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        TUNE_MARKER.write_text(f"ray[tune]=={TUNE_VERSION}\n")
        return None
    say(f"Ray Tune {TUNE_VERSION}: creating {TUNE_VENV} (the first time takes a few minutes)")
    if TUNE_VENV.exists() and not python.is_file():
        shutil.rmtree(TUNE_VENV)  # a half-made virtualenv from an interrupted run
    if not python.is_file():
        base = shutil.which("python3") or sys.executable
        made = subprocess.run([base, "-m", "venv", str(TUNE_VENV)], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        if made.returncode != 0:
            return f"`{base} -m venv {TUNE_VENV}` failed: {(made.stderr or made.stdout)[-300:]}"
    command = [str(python), "-m", "pip", "install", "--progress-bar", "off",
               f"ray[tune]=={TUNE_VERSION}"]
    say(f"  $ {' '.join(command)}")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, env=env)
    timer = threading.Timer(INSTALL_TIMEOUT_S, process.kill)
    timer.start()
    try:
        assert process.stdout is not None
        lines = [line.rstrip() for line in process.stdout]
        returncode = process.wait()
    finally:
        timer.cancel()
    if returncode != 0:
        why = "timed out" if returncode == -signal.SIGKILL else f"exit {returncode}"
        return f"`pip install ray[tune]=={TUNE_VERSION}` failed ({why}): {' / '.join(lines[-3:])}"
    TUNE_MARKER.write_text(f"ray[tune]=={TUNE_VERSION}\n")
    return None


# -- the runyard side -------------------------------------------------------------------------
class Sweeps:
    """A temporary workspace with the curve script's source folder, and its sweeps."""

    def __init__(self, tmp: Path) -> None:
        from runyard import Experiment, Workspace

        self.workspace = Workspace.create("bench-hyperdrive", path=tmp / "workspace")
        self.experiment = Experiment(self.workspace, "hyperdrive")
        self.source = tmp / "src-curve"
        self.source.mkdir()
        shutil.copy2(CURVE, self.source / "curve.py")
        self.runs: list[Any] = []

    def submit(self, arguments: list[Any], seeds: int, concurrency: int,
               policy: Any = None) -> tuple[Any, float]:
        """A sweep of curve.py over `--seed` 0..seeds-1; (its parent run, time.time() just
        before submit)."""
        from runyard import ScriptRunConfig
        from runyard.hyperdrive import (
            GridParameterSampling,
            HyperDriveConfig,
            NoTerminationPolicy,
            PrimaryMetricGoal,
            choice,
        )

        config = HyperDriveConfig(
            run_config=ScriptRunConfig(str(self.source), "curve.py", arguments=arguments),
            hyperparameter_sampling=GridParameterSampling({"--seed": choice(*range(seeds))}),
            policy=policy or NoTerminationPolicy(), primary_metric_name="score",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_total_runs=seeds,
            max_concurrent_runs=concurrency)
        started = time.time()
        parent = self.experiment.submit(config)
        self.runs.append(parent)
        return parent, started

    def finish(self, parent: Any) -> dict[str, Any]:
        """Wait for the sweep's end; its store row (raises unless it Completed)."""
        deadline = time.monotonic() + SWEEP_TIMEOUT_S
        while status_of(parent) not in TERMINAL:
            if time.monotonic() > deadline:
                raise TimeoutError(f"sweep {parent.id} still {status_of(parent)} after "
                                   f"{SWEEP_TIMEOUT_S} s")
            time.sleep(0.01)
        row = self.workspace.store.get_run(parent.id)
        if row["status"] != "Completed":
            raise RuntimeError(f"sweep {parent.id} ended {row['status']}: {row['error']}")
        return row

    def logged(self, parent: Any, name: str) -> list[float]:
        """Every child's values of the metric `name` (curve.py's script_seconds, ...)."""
        return [float(p["value"]) for child in parent.get_children()
                for p in self.workspace.store.get_metrics(child.id, name)]

    def close(self) -> None:
        children = [c for p in self.runs for c in _children(p)]
        stop_runs(self.workspace, self.runs + children, cancel_wait=15)


def _children(parent: Any) -> list[Any]:
    try:
        return list(parent.get_children())
    except Exception:
        return []


TRIVIAL = ["--kind", "learning", "--steps", "10"]


def overhead_runyard(sweeps: Sweeps, trials: int, concurrency: int) -> Timing:
    timing = Timing("runyard sweep", trials=trials)
    warm, _ = sweeps.submit(TRIVIAL, 2, concurrency)        # imports, caches: untimed
    sweeps.finish(warm)
    parent, started = sweeps.submit(TRIVIAL, trials, concurrency)
    row = sweeps.finish(parent)
    timing.wall_s = float(row["end_time"]) - started
    timing.own_s = sweeps.logged(parent, "script_seconds")
    sink = sweeps.logged(parent, "sink_seconds")
    durations = [h.seconds for h in parent.histories()]
    stages: dict[str, list[float]] = {}
    for child in parent.get_children():
        for stage in child.get_details()["stages"]:
            if stage["durationSeconds"] is not None:
                stages.setdefault(stage["status"], []).append(stage["durationSeconds"])
    with_import = (timing.wall_s - (sum(timing.own_s) - sum(sink)) / concurrency) / trials
    timing.note = (f"{len(durations)} children, each {statistics.median(durations):.2f} s "
                   f"start to end (median), the sweep {timing.wall_s:.1f} s submit to end; "
                   f"the script's own time includes `from runyard import Run` and "
                   f"`Run.get_context()` ({statistics.median(sink):.3f} s a trial, median): "
                   f"counted as overhead instead, the overhead per trial is "
                   f"{with_import:.4f} s; a child's stages (median s): "
                   + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in stages.items()))
    if len(timing.own_s) != trials:
        timing.note += f"; only {len(timing.own_s)} of {trials} logged script_seconds"
    return timing


# -- the anchors --------------------------------------------------------------------------------
def _trial_subprocess(seed: int) -> tuple[list[float], float]:
    """curve.py as a plain subprocess: its values and its own time."""
    done = subprocess.run([sys.executable, str(CURVE), *TRIVIAL, "--seed", str(seed),
                           "--sink", "print"], capture_output=True, text=True, check=True)
    values, own = [], 0.0
    for line in done.stdout.splitlines():
        name, value = line.split()
        if name == "score":
            values.append(float(value))
        elif name == "script_seconds":
            own = float(value)
    return values, own


def overhead_subprocess(trials: int, concurrency: int) -> Timing:
    timing = Timing("bare Python subprocess", trials=trials)
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(_trial_subprocess, range(2)))           # warm-up
        started = time.perf_counter()
        results = list(pool.map(_trial_subprocess, range(trials)))
        timing.wall_s = time.perf_counter() - started
    timing.own_s = [own for _, own in results]
    return timing


def overhead_optuna(trials: int, concurrency: int) -> Timing:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timing = Timing("Optuna study.optimize + subprocess", trials=trials)
    own: list[float] = []

    def objective(trial: Any) -> float:
        values, seconds = _trial_subprocess(trial.number)
        for step, value in enumerate(values):
            trial.report(value, step)
        own.append(seconds)
        return max(values)

    optuna.create_study(direction="maximize").optimize(objective, n_trials=2)  # warm-up
    own.clear()
    study = optuna.create_study(direction="maximize")
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=concurrency)
    timing.wall_s = time.perf_counter() - started
    timing.own_s = own
    timing.note = f"Optuna {optuna.__version__}, in-memory study"
    return timing


def overhead_tune(trials: int, concurrency: int, reuse: bool, tmp: Path) -> Timing:
    name = "Ray Tune, reuse_actors=True" if reuse else "Ray Tune (default: a new actor each)"
    timing = Timing(name, trials=trials)
    storage = Path(tempfile.mkdtemp(prefix=f"tune-{int(reuse)}-", dir=tmp))
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run([str(TUNE_VENV / "bin" / "python"), str(SCRIPTS / "curve_tune.py"),
                           str(trials), str(concurrency), "1" if reuse else "0", str(storage)],
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=1200)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"curve_tune.py exited {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-800:]}")
    result = json.loads(lines[-1])
    if result["errors"]:
        raise RuntimeError(f"Ray Tune trials failed: {result['errors']}")
    timing.wall_s, timing.own_s = float(result["wall_s"]), list(result["own_s"])
    timing.note = f"Ray {result['ray_version']}, local Ray started untimed"
    return timing


# -- compute saved ------------------------------------------------------------------------------
def policies() -> list[tuple[str, Any]]:
    from runyard.hyperdrive import (
        BanditPolicy,
        MedianStoppingPolicy,
        NoTerminationPolicy,
        TruncationSelectionPolicy,
    )

    return [("NoTermination", NoTerminationPolicy()),
            ("Bandit(1, slack_factor=0.1, delay 5)",
             BanditPolicy(evaluation_interval=1, slack_factor=0.1, delay_evaluation=5)),
            ("MedianStopping(1, delay 5)",
             MedianStoppingPolicy(evaluation_interval=1, delay_evaluation=5)),
            ("TruncationSelection(20 %, 1, delay 5)",
             TruncationSelectionPolicy(truncation_percentage=20, evaluation_interval=1,
                                       delay_evaluation=5))]


def compute_saved(sweeps: Sweeps, curves: int, concurrency: int) -> list[dict[str, Any]]:
    arguments = ["--kind", "learning", "--steps", "20", "--sleep", "0.1"]
    rows: list[dict[str, Any]] = []
    baseline = None
    for name, policy in policies():
        say(f"compute saved: {name}, {curves} curves, {concurrency} at a time")
        parent, started = sweeps.submit(arguments, curves, concurrency, policy)
        row = sweeps.finish(parent)
        histories = parent.histories()
        best = parent.get_best_run_by_primary_metric()
        best_value = None if best is None else max(
            float(p["value"]) for p in sweeps.workspace.store.get_metrics(best.id, "score"))
        tags = parent.get_tags()
        found = {"policy": name, "object": policy, "parent": parent,
                 "wall_s": float(row["end_time"]) - started,
                 "compute_s": sum(h.seconds for h in histories),
                 "stopped": sum(1 for h in histories if h.status == "Canceled"),
                 "best": best_value, "best_seed": None if best is None else
                 best.get_hyperparameters().get("--seed"),
                 "own_estimate_s": tags.get("compute_seconds_saved")}
        if baseline is None:
            baseline = parent
        rows.append(found)
    assert baseline is not None
    for found in rows:   # the replay's estimate over the NoTermination sweep's histories
        report = baseline.replay(found["object"])
        found["replay"] = report
    return rows


# -- the report ---------------------------------------------------------------------------------
def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(line(r) for r in rows)])


def seconds(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} s"


def _median_timing(timings: list[Timing], concurrency: int) -> Timing:
    """The repeat whose overhead per trial is the median (the lower middle one)."""
    ranked = sorted(timings, key=lambda t: t.per_trial(concurrency)[2])  # type: ignore[index]
    return ranked[(len(ranked) - 1) // 2]


def overhead_report(results: dict[str, list[Timing]], problems: dict[str, str], trials: int,
                    concurrency: int, load: tuple[float, float]) -> str:
    medians = {name: _median_timing(found, concurrency) for name, found in results.items()
               if found}
    ours = medians.get("runyard sweep")
    ours_overhead = None if ours is None else ours.per_trial(concurrency)[2]  # type: ignore[index]
    rows = []
    for name, reference in REFERENCE_S.items():
        timing = medians.get(name)
        if timing is None:
            why = problems.get(name, "not measured")
            rows.append([name, "n/a", "n/a", f"n/a ({why.splitlines()[0][:80]})", "",
                         seconds(reference), "n/a"])
            continue
        wall, own, overhead = timing.per_trial(concurrency)  # type: ignore[misc]
        each = ", ".join(f"{t.per_trial(concurrency)[2]:.3f}"  # type: ignore[index]
                         for t in results[name])
        ratio = "—" if name == "runyard sweep" or ours_overhead is None else \
            f"{ours_overhead / overhead:.2f}×"
        rows.append([name, seconds(wall), seconds(own), seconds(overhead), each,
                     seconds(reference), ratio])
    text = [f"### Overhead per trial: {trials} trivial trials (10 values each), "
            f"{concurrency} at a time",
            "", table(["trials run by", "wall ÷ trials", "script's own ÷ trials ÷ "
                       f"{concurrency}", "overhead per trial (median)", "each repeat (s)",
                       "issue's figure", "runyard ÷ this"], rows), ""]
    tune = medians.get("Ray Tune (default: a new actor each)")
    tune_overhead = None if tune is None else tune.per_trial(concurrency)[2]  # type: ignore[index]
    if ours_overhead is not None:
        met = ours_overhead <= TARGET_S
        text.append(f"Target ≤ {TARGET_S} s per trial: runyard {ours_overhead:.3f} s — "
                    f"{'met' if met else 'NOT met'}.")
        if tune_overhead is not None:
            times = tune_overhead / ours_overhead
            text.append(f"Below Ray Tune's default by 4×: {times:.1f}× — "
                        f"{'met' if times >= 4 else 'NOT met'}.")
    text.append(f"- load average (1 min) {load[0]:.1f} before, {load[1]:.1f} after, on "
                f"{os.cpu_count()} CPUs")
    for name, timing in medians.items():
        if timing.note:
            text.append(f"- {name}: {timing.note}")
    return "\n".join(text)


def saved_report(rows: list[dict[str, Any]], curves: int, concurrency: int) -> str:
    full = rows[0]["compute_s"]
    lines = []
    for row in rows:
        report = row["replay"]
        best = "n/a" if row["best"] is None else f"{row['best']:.4f} (seed {row['best_seed']})"
        own = row["own_estimate_s"]
        lines.append([
            row["policy"], f"{row['stopped']}/{curves}", f"{row['compute_s']:.1f}",
            f"{full - row['compute_s']:.1f} ({(full - row['compute_s']) / full:.0%})",
            best, "—" if own in (None, "") else f"{float(own):.1f}",
            f"{len(report.stopped)}/{curves}", f"{report.compute_seconds_replayed:.1f}",
            f"{report.compute_seconds_saved:.1f} ({report.compute_seconds_saved / full:.0%})",
            "n/a" if report.best_value_replayed is None else f"{report.best_value_replayed:.4f}",
            {True: "yes", False: "no", None: "n/a"}[report.best_survived]])
    header = ["policy", "stopped", "compute-s", "saved vs NoTermination", "best found",
              "sweep's own estimate of saved s", "replay: stopped", "replay: compute-s",
              "replay: saved", "replay: best", "replay: best survives"]
    return "\n".join([
        f"### Compute saved: {curves} seeded curves (20 values, 0.1 s apart), {concurrency} "
        "at a time", "", table(header, lines), "",
        "compute-s: the children's seconds, start to end, from the store (the real sweep "
        "under that policy); replay: the same policy replayed over the NoTermination "
        "sweep's stored histories (`HyperDriveRun.replay`)."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("overhead", "saved"))
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--curves", type=int, default=16)
    parser.add_argument("--saved-concurrency", type=int, default=2,
                        help="children at a time for compute saved (the local compute runs "
                             "max(2, cores) at once; more wait Queued)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of the runyard, subprocess and Optuna rows, interleaved")
    parser.add_argument("--tune-repeats", type=int, default=1,
                        help="rounds of the Ray Tune rows (a minute or more each)")
    parser.add_argument("--skip-tune", action="store_true")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="runyard-bench-hd-"))
    sweeps = Sweeps(tmp)
    out: list[str] = []
    try:
        if args.only in (None, "overhead"):
            results: dict[str, list[Timing]] = {}
            problems: dict[str, str] = {}
            tune_problem = "skipped (--skip-tune)" if args.skip_tune else ensure_tune_venv()
            cheap: list[tuple[str, Any]] = [
                ("runyard sweep", lambda: overhead_runyard(sweeps, args.trials,
                                                           args.concurrency)),
                ("bare Python subprocess", lambda: overhead_subprocess(args.trials,
                                                                       args.concurrency)),
                ("Optuna study.optimize + subprocess",
                 lambda: overhead_optuna(args.trials, args.concurrency))]
            tune: list[tuple[str, Any]] = []
            for reuse in (False, True):
                name = ("Ray Tune, reuse_actors=True" if reuse
                        else "Ray Tune (default: a new actor each)")
                if tune_problem:
                    problems[name] = tune_problem
                else:
                    tune.append((name, lambda reuse=reuse: overhead_tune(
                        args.trials, args.concurrency, reuse, tmp)))
            load_before = os.getloadavg()[0]
            rounds = [cheap] * args.repeats + [tune] * args.tune_repeats
            for number, steps in enumerate(rounds, start=1):
                for name, measure in steps:
                    say(f"overhead, round {number}/{len(rounds)}: {name}, {args.trials} "
                        f"trials, {args.concurrency} at a time")
                    try:
                        results.setdefault(name, []).append(measure())
                    except Exception as e:  # the row says n/a, the others still print
                        problems[name] = f"{type(e).__name__}: {e}"
                        say(f"  FAILED: {problems[name]}")
            out.append(overhead_report(results, problems, args.trials, args.concurrency,
                                       (load_before, os.getloadavg()[0])))
        if args.only in (None, "saved"):
            try:
                out.append(saved_report(compute_saved(sweeps, args.curves,
                                                      args.saved_concurrency),
                                        args.curves, args.saved_concurrency))
            except Exception as e:
                out.append(f"### Compute saved: n/a ({type(e).__name__}: {e})")
    finally:
        sweeps.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
