"""runyard's environment benchmark: a TensorFlow environment built and reused by runyard
(uv), side by side with `python3 -m venv` + `pip install`, as one markdown table.

Usage: .venv/bin/python bench/environments.py [--version 2.21.0] [--hits 3]
                                              [--no-pypi-anchor]

Rows (see bench/README.md):
1. cold build: the Preparing stage of a submitted run (a script that imports TensorFlow
   and logs its version) in an empty runyard environment cache, against
   `python3 -m venv X && X/bin/pip install tensorflow-cpu==V`, with empty download caches
   (uv: a fresh UV_CACHE_DIR; pip: --no-cache-dir) and with warm ones;
2. reuse: the same run submitted again (a cache hit), against `X/bin/pip install
   tensorflow-cpu==V` into the existing virtualenv (the "already satisfied" check);
3. disk: two environments with TensorFlow (one adds a small package), each alone and both
   together with hard-linked files counted once, against two pip virtualenvs.

Everything (workspace, caches, virtualenvs: several GB) lives in one temporary folder that
is removed at the end; the only processes ended are the runs this benchmark submitted.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import TERMINAL, say, status_of, stop_runs

from runyard.environment._cache import disk_usage

BENCH = Path(__file__).resolve().parent
PROBE = BENCH / "scripts" / "env_probe.py"
PACKAGE = "tensorflow-cpu"
# the newest tensorflow-cpu with a wheel for CPython 3.11 on Linux x86_64 when this was
# written (`pip index versions tensorflow-cpu`; 2.21.0 installs here for 3.11)
VERSION = "2.21.0"
MODULE = "tensorflow"
EXTRA = "tqdm"  # the second environment: the same TensorFlow plus this (not a TF dependency)
INSTALL_TIMEOUT_S = 1800
MIB = 1024 * 1024


@dataclass
class Results:
    seconds: dict[str, float] = field(default_factory=dict)
    hits: list[float] = field(default_factory=list)          # runyard Preparing, cache hit
    noops: list[float] = field(default_factory=list)         # pip install, already there
    disk: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


# -- runyard ------------------------------------------------------------------------------
@dataclass
class Probe:
    """One submitted run of env_probe.py and what it says about its environment."""

    run_id: str
    preparing_s: float
    env_path: Path
    metrics: dict[str, Any]
    env_log: str


class Yard:
    """A temporary workspace; runs of env_probe.py with a TensorFlow environment."""

    def __init__(self, tmp: Path, module: str) -> None:
        from runyard import Experiment, Workspace

        self.tmp = tmp
        self.module = module
        self.workspace = Workspace.create("envbench", path=tmp / "workspace")
        self.experiment = Experiment(self.workspace, "envbench")
        self.source = tmp / "probe-src"
        self.source.mkdir()
        shutil.copy2(PROBE, self.source / PROBE.name)
        self.runs: list[Any] = []

    def probe(self, label: str, packages: list[str], env_cache: Path,
              uv_cache: Path) -> Probe:
        """Submit env_probe.py with an environment of `packages`; the supervisor (and so
        the build) sees RUNYARD_ENV_CACHE and UV_CACHE_DIR as set here."""
        from runyard import CondaDependencies, Environment, ScriptRunConfig

        os.environ["RUNYARD_ENV_CACHE"] = str(env_cache)
        os.environ["UV_CACHE_DIR"] = str(uv_cache)
        env = Environment("tf-bench")
        env.python.conda_dependencies = CondaDependencies.create(pip_packages=packages)
        say(f"  [{label}] submitting env_probe.py with {', '.join(packages)} "
            f"(env cache {shown(env_cache)}, uv cache {shown(uv_cache)})")
        run = self.experiment.submit(ScriptRunConfig(
            str(self.source), PROBE.name, arguments=[self.module], environment=env,
            # Keras writes keras.json under $KERAS_HOME (~/.keras): keep it in our folder
            environment_variables={"KERAS_HOME": str(self.tmp / "keras-home")}))
        self.runs.append(run)
        printed = self._follow(run, label)
        run.wait_for_completion(raise_on_error=True, timeout_seconds=60)
        stages = run.get_details()["stages"]
        preparing = next(s for s in stages if s["status"] == "Preparing")
        seconds = float(preparing["durationSeconds"])
        stage_text = [f"{s['status']} {s['durationSeconds']}" for s in stages]
        metrics = run.get_metrics()
        env_log = ""
        try:
            env_log = Path(run.download_file(
                "logs/environment.txt", self.tmp / f"environment-{run.id}.txt")).read_text()
        except Exception as e:
            say(f"  [{label}] could not read logs/environment.txt: {e}")
        rest = env_log.encode("utf-8", errors="replace")[printed:]
        for line in rest.decode("utf-8", errors="replace").splitlines():
            show_log_line(f"{label} end", line)
        say(f"  [{label}] Preparing {seconds:.3f} s; the script imported "
            f"{self.module} {metrics.get('version')} in "
            f"{float(metrics.get('import_seconds', float('nan'))):.1f} s "
            f"(stages: {', '.join(stage_text)})")
        return Probe(run.id, seconds, env_cache / env.spec_hash(), metrics, env_log)

    def _follow(self, run: Any, label: str) -> int:
        """Wait for the end state, printing status changes and the build's log lines;
        return how many bytes of the log were printed (the supervisor removes the live
        copy at the end, so the last lines may come from the uploaded one)."""
        live = self.workspace.run_dir(run.id) / "logs" / "environment.txt"
        offset = 0
        status = ""
        started = time.monotonic()
        while True:
            now = status_of(run)
            if now != status:
                status = now
                say(f"  [{label} {time.monotonic() - started:6.1f} s] {status}")
            try:
                with open(live, "rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                # only whole lines; the rest on the next look
                complete = chunk[:chunk.rfind(b"\n") + 1]
                offset += len(complete)
                for line in complete.decode("utf-8", errors="replace").splitlines():
                    show_log_line(f"{label} {time.monotonic() - started:6.1f} s", line)
            except FileNotFoundError:
                pass
            if status in TERMINAL:
                return offset
            if time.monotonic() - started > INSTALL_TIMEOUT_S + 600:
                raise TimeoutError(f"run {run.id} is still {status} after "
                                   f"{time.monotonic() - started:.0f} s")
            time.sleep(0.5)

    def close(self) -> None:
        """Stop every run of ours still active (cancel, then kill its supervisor)."""
        stop_runs(self.workspace, self.runs, cancel_wait=30)


def show_log_line(prefix: str, line: str) -> None:
    if line.strip() and not line.startswith(" + "):  # not the one line per package
        say(f"  [{prefix}]   | {line[:200]}")


# -- venv + pip ---------------------------------------------------------------------------
def pip_environment(cache: Path | None, pypi_only: bool = False) -> dict[str, str]:
    """pip as configured on this machine (or with no configuration at all: PyPI only)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV", "PYTHONPATH",
                        "RUNYARD_ENV_CACHE", "UV_CACHE_DIR")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if cache is not None:
        env["PIP_CACHE_DIR"] = str(cache)
    if pypi_only:
        env["PIP_CONFIG_FILE"] = os.devnull  # pip reads no configuration file at all
        for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL",
                     "PIP_CONSTRAINT", "PIP_NO_INDEX"):
            env.pop(name, None)
    return env


def timed(command: list[str], env: dict[str, str], log: Path) -> float:
    """Wall-clock seconds of `command` (output to `log`); raise with its last lines."""
    say(f"    $ {' '.join(shown_arg(a) for a in command)}")
    with open(log, "a") as handle:
        handle.write("$ " + " ".join(command) + "\n")
        handle.flush()
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
        next_note = 30.0
        try:
            while process.poll() is None:
                time.sleep(0.05)
                elapsed = time.monotonic() - started
                if elapsed > INSTALL_TIMEOUT_S:
                    process.kill()
                    process.wait()
                    raise TimeoutError(f"{Path(command[0]).name} still running after "
                                       f"{INSTALL_TIMEOUT_S} s")
                if elapsed >= next_note:
                    next_note += 30.0
                    say(f"      ... {elapsed:.0f} s: {last_line(log)[:150]}")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        elapsed = time.monotonic() - started
    if process.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
        raise RuntimeError(f"{' '.join(command[:3])} ... exited {process.returncode}:\n{tail}")
    return elapsed


def last_line(path: Path) -> str:
    lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
    return lines[-1].strip() if lines else ""


def make_venv(python: str, folder: Path, requirements: list[str], pip_flags: list[str],
              env: dict[str, str], log: Path) -> tuple[float, float]:
    """`python3 -m venv folder && folder/bin/pip install ...`: (venv s, pip s)."""
    venv_s = timed([python, "-m", "venv", str(folder)], env, log)
    pip_s = timed([str(folder / "bin" / "pip"), "install", *pip_flags, *requirements],
                  env, log)
    return venv_s, pip_s


def pip_sources(log: Path) -> str:
    """How pip got its wheels: from local files (this machine's extra indexes) or PyPI."""
    text = log.read_text(errors="replace")
    local = len(re.findall(r"^\s*Processing (?:/|file:)", text, re.M))
    downloaded = len(re.findall(r"^\s*Downloading \S", text, re.M))
    cached = len(re.findall(r"^\s*Using cached ", text, re.M))
    parts = [f"{downloaded} downloaded"]
    if cached:
        parts.append(f"{cached} from pip's cache")
    if local:
        parts.append(f"{local} read from local files")
    return ", ".join(parts)


# -- helpers ------------------------------------------------------------------------------
TMP_ROOT: Path | None = None


def shown(path: Path) -> str:
    if TMP_ROOT is not None:
        try:
            return "$TMP/" + str(path.relative_to(TMP_ROOT))
        except ValueError:
            pass
    return str(path)


def shown_arg(arg: str) -> str:
    return shown(Path(arg)) if arg.startswith("/") else arg


def du_bytes(paths: list[Path]) -> int | None:
    """`du -sc` of `paths` (hard links counted once across them), as a cross-check."""
    try:
        out = subprocess.run(["du", "-sc", "--block-size=1", *map(str, paths)],
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip().splitlines()[-1].split()[0])
    except Exception:
        return None


def linked_share(folder: Path) -> tuple[int, int]:
    """(files with more than one link, files) under `folder`."""
    linked = total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            try:
                stat = os.lstat(os.path.join(base, name))
            except OSError:
                continue
            total += 1
            linked += stat.st_nlink > 1
    return linked, total


def bytecode(folder: Path) -> str:
    """How many .pyc files (and bytes on disk) `folder` holds."""
    count = size = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            if name.endswith(".pyc"):
                count += 1
                size += os.lstat(os.path.join(base, name)).st_blocks * 512
    return f"{count:,} .pyc files ({mib(size)})"


def freeze(python: Path) -> dict[str, str]:
    """name → version installed for `python` (uv pip freeze, the same reader for both)."""
    from uv import find_uv_bin

    out = subprocess.run([str(find_uv_bin()), "pip", "freeze", "--python", str(python)],
                         capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}).stdout
    found = {}
    for line in out.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            found[name.strip().lower().replace("_", "-")] = version.strip()
    return found


def mib(value: int) -> str:
    return f"{value / MIB:,.0f} MiB"


def ratio(value: float) -> str:
    return f"{value:,.0f}×" if value >= 100 else f"{value:,.2f}×" if value < 10 \
        else f"{value:,.1f}×"


def step(results: Results, what: str, work: Callable[[], None]) -> bool:
    try:
        work()
        return True
    except Exception as e:
        results.errors[what] = f"{type(e).__name__}: {e}"
        say(f"  FAILED ({what}): {traceback.format_exc()}")
        return False


# -- the measures -------------------------------------------------------------------------
def measure(args: argparse.Namespace, tmp: Path, results: Results) -> None:
    spec_a = [f"{args.package}=={args.version}"]
    spec_b = [*spec_a, EXTRA]
    python = shutil.which("python3") or sys.executable
    uv_cache = tmp / "uv-cache"
    probes: dict[str, Probe] = {}

    say(f"[1/2] runyard (uv): {', '.join(spec_a)}; then {', '.join(spec_b)}")
    yard = Yard(tmp, args.module)
    try:
        def cold() -> None:
            probes["cold"] = yard.probe("uv cold", spec_a, tmp / "envs-cold", uv_cache)
            results.seconds["uv_cold"] = probes["cold"].preparing_s

        def hits() -> None:
            for index in range(args.hits):
                probe = yard.probe(f"uv hit {index + 1}/{args.hits}", spec_a,
                                   tmp / "envs-cold", uv_cache)
                if "found in the cache" not in probe.env_log:
                    raise RuntimeError(f"run {probe.run_id} was not a cache hit:\n"
                                       f"{probe.env_log[-1000:]}")
                results.hits.append(probe.preparing_s)

        def warm() -> None:
            probes["a"] = yard.probe("uv warm", spec_a, tmp / "envs", uv_cache)
            results.seconds["uv_warm"] = probes["a"].preparing_s

        def second() -> None:
            probes["b"] = yard.probe("uv second", spec_b, tmp / "envs", uv_cache)
            results.seconds["uv_second"] = probes["b"].preparing_s

        if step(results, "runyard cold build", cold):
            step(results, "runyard cache hit", hits)
        if step(results, "runyard build, warm uv cache", warm):
            step(results, "runyard second environment", second)
    finally:
        yard.close()
    if "a" in probes and "b" in probes:
        a, b = probes["a"].env_path, probes["b"].env_path
        results.disk.update({
            "uv_a": disk_usage([a]), "uv_b": disk_usage([b]),
            "uv_ab": disk_usage([a, b]), "uv_ab_cache": disk_usage([a, b, uv_cache]),
            "uv_cache": disk_usage([uv_cache])})
        linked, total = linked_share(a)
        results.notes.append(
            f"uv hard links: {linked:,} of the {total:,} files of environment A have more "
            f"than one link (shared with uv's cache and environment B); `du -sc` of A and B: "
            f"{mib(du_bytes([a, b]) or 0)}; environment A holds {bytecode(a)} "
            f"(uv does not byte-compile; PYTHONDONTWRITEBYTECODE="
            f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')} here for the runs).")
    for key, probe in probes.items():
        if "falling back" in probe.env_log.lower() or "failed to hardlink" in \
                probe.env_log.lower():
            results.notes.append(f"WARNING: uv could not hard-link in the {key} build "
                                 f"(it copied): see its environment.txt")
    if "cold" in probes:
        metrics = probes["cold"].metrics
        results.notes.append(
            f"runyard's environment: {args.module} {metrics.get('version')} imported in "
            f"{float(metrics.get('import_seconds', float('nan'))):.1f} s by "
            f"{metrics.get('interpreter')} (the first run in it).")

    say(f"[2/2] venv + pip ({python}): {', '.join(spec_a)}; then {', '.join(spec_b)}")
    pip_cache = tmp / "pip-cache"
    venvs = tmp / "venvs"
    venvs.mkdir()

    def pip_cold() -> None:
        log = tmp / "pip-cold.log"
        venv_s, pip_s = make_venv(python, venvs / "cold", spec_a, ["--no-cache-dir"],
                                  pip_environment(None), log)
        results.seconds.update({"pip_cold": venv_s + pip_s, "pip_cold_venv": venv_s})
        results.notes.append(f"pip cold (as configured): venv {venv_s:.1f} s + pip install "
                             f"{pip_s:.1f} s; wheels: {pip_sources(log)}.")

    def pip_noop() -> None:
        log = tmp / "pip-noop.log"
        for _ in range(args.hits):
            results.noops.append(timed(
                [str(venvs / "cold" / "bin" / "pip"), "install", *spec_a],
                pip_environment(None), log))
        if "already satisfied" not in log.read_text():
            raise RuntimeError("pip did not say 'already satisfied':\n"
                               + log.read_text()[-1000:])

    def pip_pypi() -> None:
        log = tmp / "pip-pypi.log"
        folder = venvs / "pypi"
        venv_s, pip_s = make_venv(python, folder, spec_a, ["--no-cache-dir"],
                                  pip_environment(None, pypi_only=True), log)
        results.seconds["pip_pypi"] = venv_s + pip_s
        results.notes.append(f"pip cold from PyPI only: venv {venv_s:.1f} s + pip install "
                             f"{pip_s:.1f} s; wheels: {pip_sources(log)}.")
        shutil.rmtree(folder, ignore_errors=True)

    def pip_b() -> None:  # the second spec, filling pip's (empty) cache
        log = tmp / "pip-b.log"
        venv_s, pip_s = make_venv(python, venvs / "b", spec_b, [],
                                  pip_environment(pip_cache), log)
        results.seconds["pip_b"] = venv_s + pip_s
        results.notes.append(f"pip environment B ({' '.join(spec_b)}, empty pip cache "
                             f"that it fills): venv {venv_s:.1f} s + pip install "
                             f"{pip_s:.1f} s; wheels: {pip_sources(log)}.")

    def pip_warm() -> None:
        log = tmp / "pip-warm.log"
        cached = disk_usage([pip_cache])
        venv_s, pip_s = make_venv(python, venvs / "a", spec_a, [],
                                  pip_environment(pip_cache), log)
        results.seconds["pip_warm"] = venv_s + pip_s
        results.notes.append(f"pip with its cache ({mib(cached)} in PIP_CACHE_DIR after "
                             f"building B): venv {venv_s:.1f} s + pip install {pip_s:.1f} s; "
                             f"wheels: {pip_sources(log)}.")

    def pip_wheelhouse() -> None:  # every download done beforehand (not timed)
        log = tmp / "pip-wheelhouse.log"
        wheelhouse = tmp / "wheelhouse"
        timed([python, "-m", "pip", "download", "--quiet",
               "-d", str(wheelhouse), *spec_a], pip_environment(pip_cache), log)
        folder = venvs / "wheelhouse"
        venv_s, pip_s = make_venv(python, folder, spec_a,
                                  ["--no-index", "--find-links", str(wheelhouse)],
                                  pip_environment(pip_cache), log)
        results.seconds["pip_wheelhouse"] = venv_s + pip_s
        results.notes.append(f"pip from a wheelhouse (`pip download -d W`, not timed, then "
                             f"`--no-index --find-links W`): venv {venv_s:.1f} s + pip "
                             f"install {pip_s:.1f} s; wheels: {pip_sources(log)}.")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(wheelhouse, ignore_errors=True)

    if step(results, "pip cold build", pip_cold):
        step(results, "pip no-op install", pip_noop)
        if "a" in probes:
            uv_set = freeze(probes["a"].env_path / "bin" / "python")
            pip_set = freeze(venvs / "cold" / "bin" / "python")
            only_pip = sorted(f"{k}=={v}" for k, v in pip_set.items() if uv_set.get(k) != v)
            only_uv = sorted(f"{k}=={v}" for k, v in uv_set.items() if pip_set.get(k) != v)
            results.notes.append(
                f"installed: runyard {len(uv_set)} packages, pip {len(pip_set)}; only in "
                f"the pip virtualenv: {', '.join(only_pip) or 'none'}; only in runyard's: "
                f"{', '.join(only_uv) or 'none'}.")
        shutil.rmtree(venvs / "cold", ignore_errors=True)
    if args.pypi_anchor:
        step(results, "pip cold build from PyPI only", pip_pypi)
    if step(results, "pip environment B", pip_b):
        step(results, "pip build with its cache", pip_warm)
    step(results, "pip build from a wheelhouse", pip_wheelhouse)
    if (venvs / "a" / "bin" / "python").exists() and (venvs / "b" / "bin" / "python").exists():
        a, b = venvs / "a", venvs / "b"
        results.disk.update({
            "pip_a": disk_usage([a]), "pip_b": disk_usage([b]), "pip_ab": disk_usage([a, b]),
            "pip_ab_cache": disk_usage([a, b, pip_cache]),
            "pip_cache": disk_usage([pip_cache])})
        results.notes.append(f"`du -sc` of the two pip virtualenvs: "
                             f"{mib(du_bytes([a, b]) or 0)}; virtualenv A holds "
                             f"{bytecode(a)} (pip byte-compiles what it installs).")


# -- the report ---------------------------------------------------------------------------
def table(rows: list[list[str]]) -> str:
    header = ["measure", "runyard (uv)", "anchor (venv + pip)", "ratio", "note"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def report(args: argparse.Namespace, results: Results) -> str:
    s, d = results.seconds, results.disk
    rows: list[list[str]] = []

    def time_row(name: str, ours: str, anchor: str, note: str, unit: str = "s",
                 digits: int = 1) -> None:
        a, b = s.get(ours), s.get(anchor)
        rows.append([name, f"{a:.{digits}f} {unit}" if a is not None else "n/a",
                     f"{b:.{digits}f} {unit}" if b is not None else "n/a",
                     ratio(a / b) if a is not None and b else "n/a", note])

    pin = f"{args.package}=={args.version}"
    time_row("cold build, empty download caches", "uv_cold", "pip_cold",
             "runyard: Preparing stage, empty env cache + fresh UV_CACHE_DIR, all from "
             "PyPI; pip: `--no-cache-dir`, as configured here (local extra indexes)")
    if args.pypi_anchor:
        time_row("cold build, empty download caches, pip from PyPI only", "uv_cold",
                 "pip_pypi", "same runyard build as above; pip with PIP_CONFIG_FILE="
                 "/dev/null (no extra indexes), `--no-cache-dir`")
    time_row("cold build, warm download cache", "uv_warm", "pip_warm",
             "runyard: empty env cache, uv cache from the row above; pip: PIP_CACHE_DIR "
             "filled by building environment B (see the notes for what it held)")
    time_row("cold build, warm download cache, pip from a local wheelhouse", "uv_warm",
             "pip_wheelhouse", "same runyard build as above; pip: every wheel downloaded "
             "beforehand, `--no-index --find-links W`")
    name = f"reuse: the same environment again (median of {args.hits})"
    if results.hits and results.noops:
        hit, noop = statistics.median(results.hits), statistics.median(results.noops)
        rows.append([name, f"{hit:.3f} s", f"{noop:.2f} s", ratio(hit / noop),
                     "runyard: Preparing stage of a cache hit; pip: `X/bin/pip install "
                     f"{pin}` into the existing virtualenv (already satisfied)"])
    else:
        rows.append([name, f"{statistics.median(results.hits):.3f} s" if results.hits
                     else "n/a", f"{statistics.median(results.noops):.2f} s"
                     if results.noops else "n/a", "n/a", ""])

    def disk_row(name: str, ours: str, anchor: str, note: str) -> None:
        a, b = d.get(ours), d.get(anchor)
        rows.append([name, mib(a) if a is not None else "n/a",
                     mib(b) if b is not None else "n/a",
                     ratio(a / b) if a is not None and b else "n/a", note])

    disk_row(f"disk: environment A ({pin})", "uv_a", "pip_a",
             "alone (runyard's after the runs that imported TensorFlow in it)")
    disk_row(f"disk: environment B (A + {EXTRA})", "uv_b", "pip_b", "alone")
    disk_row("disk: A and B together", "uv_ab", "pip_ab",
             "hard-linked files counted once (runyard.environment._cache.disk_usage)")
    disk_row("disk: A and B and the download cache", "uv_ab_cache", "pip_ab_cache",
             "uv's cache holds the same files (hard links); pip's only what it downloaded")

    notes = ["", f"{os.cpu_count()} CPUs, Linux {platform.release()}, Python "
             f"{platform.python_version()}; {pin}; ratio = runyard ÷ anchor. Timed: "
             f"runyard = `durationSeconds` of the Preparing stage in run.get_details(); "
             f"pip = wall clock of `python3 -m venv X` + `X/bin/pip install ...`."]
    notes += results.notes
    if "uv_second" in s:
        notes.append(f"runyard environment B (a second spec, warm uv cache): Preparing "
                     f"{s['uv_second']:.1f} s.")
    if results.hits:
        notes.append("runyard cache hits: " + ", ".join(f"{x:.3f}" for x in results.hits)
                     + " s; pip no-ops: " + ", ".join(f"{x:.2f}" for x in results.noops)
                     + " s.")
    if "uv_cache" in d or "pip_cache" in d:
        notes.append(f"download caches: uv {mib(d.get('uv_cache', 0))}, pip "
                     f"{mib(d.get('pip_cache', 0))}.")
    for what, error in results.errors.items():
        notes.append(f"ERROR in {what}: {error.splitlines()[0] if error else '?'}")
    return table(rows) + "\n" + "\n".join(notes)


# -- main ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    global TMP_ROOT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=VERSION, help=f"of {PACKAGE} (default %(default)s)")
    parser.add_argument("--package", default=PACKAGE, help=argparse.SUPPRESS)
    parser.add_argument("--module", default=MODULE, help=argparse.SUPPRESS)
    parser.add_argument("--hits", type=int, default=3,
                        help="cache hits and pip no-ops to time (default %(default)s)")
    parser.add_argument("--no-pypi-anchor", dest="pypi_anchor", action="store_false",
                        help="skip the extra pip build from PyPI only (a few minutes)")
    args = parser.parse_args(argv)
    results = Results()

    saved = {k: os.environ.get(k) for k in ("RUNYARD_ENV_CACHE", "UV_CACHE_DIR")}
    tmp = Path(tempfile.mkdtemp(prefix="runyard-envbench-"))
    TMP_ROOT = tmp
    started = time.monotonic()
    try:
        measure(args, tmp, results)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        say(f"removing {tmp} ({mib(disk_usage([tmp]))})")
        shutil.rmtree(tmp, ignore_errors=True)
        if tmp.exists():
            say(f"!! could not remove all of {tmp}")
    say(f"done in {time.monotonic() - started:.0f} s")
    say("")
    say(report(args, results))
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
