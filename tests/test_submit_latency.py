"""Submit → the script's first line on the local compute: what the run's supervisor loads
before the script starts (bench/run.py measures the time itself; a sweep pays it per trial)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard._procfs import alive
from runyard.compute.local_executor import PORTS_PER_RUN, _HeldPorts
from runyard.distributed.plan import make_plan
from runyard.supervisor._start import _spawn_server, paths, start_key

from .conftest import _processes_mentioning, wait_for

# What a supervisor on the local compute imports before its script starts: its entry
# point, the driver, the workspace, the store, the local compute's executor.
START_PATH = ("runyard.supervisor.__main__", "runyard.supervisor._driver", "runyard.workspace",
              "runyard.store.sql", "runyard.compute.local_executor")
# ... and what it must not: other computes, the channel's ingest and the in-run runtime
# (imported once the script runs), Alembic (only when a migration is due).
NOT_BEFORE_START = ("runyard.compute.ray", "runyard.compute.slurm", "runyard.compute._slurm_jobs",
                    "runyard.compute.status", "runyard.supervisor._ingest", "runyard.runtime",
                    "alembic")


def test_the_supervisor_loads_only_what_the_stages_before_the_script_use() -> None:
    code = ("import importlib, json, sys\n"
            f"for name in {START_PATH!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out))
    assert set(START_PATH) <= loaded
    assert sorted(name for name in NOT_BEFORE_START if name in loaded) == []


def test_the_lazy_compute_names_are_the_classes() -> None:
    import runyard.compute as compute
    from runyard.compute.ray import RayCompute, RayProvisioningConfiguration
    from runyard.compute.slurm import SlurmCompute
    from runyard.compute.status import ComputeStatus, NodeStateCounts, ScaleSettings

    assert compute.RayCompute is RayCompute
    assert compute.RayProvisioningConfiguration is RayProvisioningConfiguration
    assert compute.SlurmCompute is SlurmCompute
    assert compute.ComputeStatus is ComputeStatus
    assert compute.NodeStateCounts is NodeStateCounts
    assert compute.ScaleSettings is ScaleSettings
    for name in compute.__all__:  # every exported name resolves
        assert getattr(compute, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'NoSuchCompute'"):
        _ = compute.NoSuchCompute  # type: ignore[attr-defined]


def test_ports_are_bound_as_the_plan_takes_them_distinct_and_released() -> None:
    ports = _HeldPorts(PORTS_PER_RUN)
    try:
        single = make_plan(None, ["127.0.0.1"], ports)
        assert single.world_size == 1
        assert ports._held == []  # a single process takes no port
        taken = [next(ports) for _ in range(5)]
        assert len(set(taken)) == 5
    finally:
        ports.close()
    for port in taken:  # free again once the plan is made
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as handle:
            handle.bind(("127.0.0.1", port))
    few = _HeldPorts(2)
    try:
        assert len({next(few), next(few)}) == 2
        with pytest.raises(StopIteration):
            next(few)
    finally:
        few.close()


def test_a_pytorch_plan_takes_its_ports_from_the_held_ones() -> None:
    ports = _HeldPorts(PORTS_PER_RUN)
    try:
        plan = make_plan({"framework": "pytorch", "process_count": 2, "node_count": 1,
                          "backend": "gloo"}, ["127.0.0.1"], ports)
        held = {handle.getsockname()[1] for handle in ports._held}
    finally:
        ports.close()
    assert plan.world_size == 2
    assert held
    assert held <= {int(v) for p in plan.processes for k, v in p.env.items()
                             if k.endswith("PORT")}


def test_the_fork_server_preloads_the_supervisor_and_no_other_compute() -> None:
    code = ("import importlib, json, sys\n"
            "from runyard.supervisor._zygote import PRELOAD\n"
            "for name in PRELOAD: importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out))
    assert set(START_PATH) <= loaded
    heavy = ("runyard.compute.ray", "runyard.compute.slurm", "runyard.compute._slurm_jobs",
             "alembic", "ray", "tensorflow", "torch")
    assert sorted(name for name in heavy if name in loaded) == []


# -- the fork server: what a run started through it keeps (runyard.supervisor._zygote) -----
class Server:
    """A fork server in a private folder of the test (RUNYARD_ZYGOTE_DIR)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = start_key(os.environ)
        self.sock, self.lock, self.log = paths(folder, self.key)

    def pid(self) -> int | None:
        try:
            return int(self.lock.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.pid()
        if pid is None or not alive(pid):
            return False
        with contextlib.suppress(OSError):
            return f"_zygote\0{self.key}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        return False

    def start(self) -> int:
        _spawn_server(self.folder, self.key, self.lock, os.environ)
        wait_for(lambda: self.sock.exists() and self.alive(), timeout=60)
        pid = self.pid()
        assert pid is not None
        return pid

    def stop(self) -> None:
        if self.alive() and (pid := self.pid()) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    # a short path: a Unix socket's path has at most 107 bytes (pytest's can be long)
    folder = Path(tempfile.mkdtemp(prefix="rz-"))
    monkeypatch.setenv("RUNYARD_ZYGOTE_DIR", str(folder))
    monkeypatch.delenv("RUNYARD_ZYGOTE", raising=False)
    handle = Server(folder)
    yield handle
    handle.stop()
    shutil.rmtree(folder, ignore_errors=True)


def _forked_by(server: Server, run: Run) -> int | None:
    """The pid the server forked as `run`'s supervisor (its keeper), from its log."""
    found = re.search(r"forked the supervisor of " + re.escape(run.id) + r": pid (\d+)",
                      server.log.read_text() if server.log.exists() else "")
    return int(found.group(1)) if found else None


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat[stat.rfind(b")") + 2:].split()[1])


# What a script sees of its supervisor (its parent) and of itself; the two ways of
# starting a supervisor must give the same.
PROBE = """
    import json, os, sys
    parent = os.getppid()
    def status(pid, name):
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(name + ":"):
                return line.split()[1]
    keeper = int(open(f"/proc/{parent}/stat").read().rsplit(")", 1)[1].split()[1])
    seen = {
        "variable": os.environ.get("H8_PROBE"),
        "script_ignores": status(os.getpid(), "SigIgn"),
        "supervisor_ignores": status(parent, "SigIgn"),
        "supervisor_cwd": os.readlink(f"/proc/{parent}/cwd"),
        "supervisor_umask": status(parent, "Umask"),
        "supervisor_exe": os.readlink(f"/proc/{parent}/exe"),
        "supervisor_command": open(f"/proc/{parent}/cmdline", "rb").read()
                              .rstrip(b"\\0").decode().split("\\0"),
        "keeper_command": open(f"/proc/{keeper}/cmdline", "rb").read()
                          .rstrip(b"\\0").decode().split("\\0"),
        "keeper_session": os.getsid(keeper),
        "stdin": os.readlink(f"/proc/{parent}/fd/0"),
        "stdout": os.readlink(f"/proc/{parent}/fd/1"),
    }
    open(sys.argv[1], "w").write(json.dumps(seen))
"""


def _probe(experiment: Experiment, source: Callable[..., Path],
           tmp_path: Path) -> dict[str, object]:
    out = tmp_path / f"probe-{uuid.uuid4().hex}.json"
    run = experiment.submit(ScriptRunConfig(str(source(PROBE)), "train.py",
                                            arguments=[str(out)]))
    run.wait_for_completion(raise_on_error=True, timeout_seconds=120)
    seen: dict[str, object] = json.loads(out.read_text())
    for name in ("supervisor_command", "keeper_command"):  # the run's own id and workspace
        command = seen[name]
        assert isinstance(command, list)
        assert command[-2:] == [str(experiment.workspace.path), run.id]
        seen[name] = command[:-2]
    seen["stdout"] = str(seen["stdout"]).replace(run.id, "RUN")
    # detached: a session of its own, not the submitter's
    seen["keeper_session"] = seen["keeper_session"] not in (os.getsid(0), 0)
    return seen


@pytest.mark.slow
def test_a_run_through_the_fork_server_sees_what_exec_gives(
        server: Server, experiment: Experiment, source: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("H8_PROBE", "from the submitter")  # sent with the request
    cwd = tmp_path / "the submitter's folder"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    old = os.umask(0o027)
    try:
        monkeypatch.setenv("RUNYARD_ZYGOTE", "0")
        by_exec = _probe(experiment, source, tmp_path)
        monkeypatch.delenv("RUNYARD_ZYGOTE")
        pid = server.start()
        forked = _probe(experiment, source, tmp_path)
        # the server's own environment holds only what its start needs
        assert b"H8_PROBE" not in Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        os.umask(old)
    assert len(server.log.read_text().split("forked the supervisor of")) == 2  # it was used
    assert forked == by_exec
    assert forked["variable"] == "from the submitter"
    assert forked["supervisor_cwd"] == str(cwd)
    assert forked["supervisor_umask"] == "0027"
    assert forked["supervisor_exe"] == os.path.realpath(sys.executable)
    assert forked["supervisor_command"] == [sys.executable, "-m", "runyard.supervisor"]
    assert forked["keeper_session"] is True
    assert forked["stdin"] == "/dev/null"


@pytest.mark.slow
def test_a_run_through_the_fork_server_outlives_its_submitter(
        server: Server, workspace: Workspace, source: Callable[..., Path],
        tmp_path: Path) -> None:
    server.start()
    folder = source("import time\ntime.sleep(2)\nprint('still here', flush=True)\n")
    submitter = textwrap.dedent(f"""
        from runyard import Experiment, ScriptRunConfig, Workspace
        ws = Workspace.from_config({str(workspace.path)!r})
        run = Experiment(ws, "outlive").submit(ScriptRunConfig({str(folder)!r}, "train.py"))
        print(run.id)
    """)
    done = subprocess.run([sys.executable, "-c", submitter], capture_output=True, text=True,
                          check=True, timeout=60)
    run = Run.get(workspace, done.stdout.strip())
    assert run.get_status() not in ("Completed", "Failed", "Canceled")  # the submitter is gone
    run.wait_for_completion(raise_on_error=True, timeout_seconds=60)
    assert b"still here" in run.read_log("logs/driver_0.txt")
    keeper = _forked_by(server, run)
    assert keeper is not None
    wait_for(lambda: not alive(keeper), timeout=20)  # and then it ended


@pytest.mark.slow
def test_kill_9_of_a_forked_supervisor_is_recovered_by_its_keeper(
        server: Server, experiment: Experiment, source: Callable[..., Path]) -> None:
    server.start()
    token = f"zygote-{uuid.uuid4().hex}"
    run = experiment.submit(ScriptRunConfig(str(source(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', sys.argv[1]])\n"
        "print('ready', flush=True)\ntime.sleep(300)\n")), "train.py", arguments=[token]))
    wait_for(lambda: b"ready" in run.read_log("logs/driver_0.txt"))
    supervisor = int(run.workspace.store.get_run(run.id)["supervisor_pid"])
    assert _parent(supervisor) == _forked_by(server, run)  # the forked keeper, below it
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: run.get_status() == "Failed", timeout=20)
    error = run.get_details()["error"]["error"]["message"]
    assert "died while the run was Running" in error
    assert "killed by SIGKILL" in error  # the keeper said how, not a reader's guess
    wait_for(lambda: not _processes_mentioning(token), timeout=10)


@pytest.mark.slow
def test_a_stale_fork_server_is_not_used(
        server: Server, experiment: Experiment, source: Callable[..., Path]) -> None:
    import runyard.supervisor._zygote as zygote

    first = server.start()
    folder = source("print('hello')\n")
    watched = Path(zygote.__file__)  # one of runyard's files, as an upgrade rewrites them
    before = watched.stat()
    os.utime(watched, ns=(before.st_atime_ns, max(time.time_ns(),
                                                  before.st_mtime_ns + 1_000_000)))
    run = experiment.submit(ScriptRunConfig(str(folder), "train.py"))
    run.wait_for_completion(raise_on_error=True, timeout_seconds=60)
    assert _forked_by(server, run) is None  # started by exec
    assert f"stopping: {watched} changed" in server.log.read_text()
    wait_for(lambda: not alive(first), timeout=20)  # and the stale server stopped
    second = server.start()  # its successor (that submit started it), files as they are now
    assert second != first
    run = experiment.submit(ScriptRunConfig(str(folder), "train.py"))
    run.wait_for_completion(raise_on_error=True, timeout_seconds=60)
    assert _forked_by(server, run) is not None


@pytest.mark.slow
def test_runs_start_by_exec_where_the_server_cannot_serve(
        server: Server, experiment: Experiment, source: Callable[..., Path],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    folder = source("print('hello')\n")
    # a folder others may enter: no server is started there, nor used
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("RUNYARD_ZYGOTE_DIR", str(shared))
    for _ in range(2):
        experiment.submit(ScriptRunConfig(str(folder), "train.py")).wait_for_completion(
            raise_on_error=True, timeout_seconds=60)
    assert os.listdir(shared) == []
    # a dead server's socket left behind: refused, so exec, and a new server replaces it
    monkeypatch.setenv("RUNYARD_ZYGOTE_DIR", str(server.folder))
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(server.sock))
    dead.close()
    run = experiment.submit(ScriptRunConfig(str(folder), "train.py"))
    run.wait_for_completion(raise_on_error=True, timeout_seconds=60)
    assert _forked_by(server, run) is None
    wait_for(server.alive, timeout=60)
    # a server that fails to start (a folder where its socket goes): exec, and no new
    # attempt for a while
    broken = Server(Path(tempfile.mkdtemp(prefix="rz-")))
    request.addfinalizer(lambda: shutil.rmtree(broken.folder, ignore_errors=True))
    monkeypatch.setenv("RUNYARD_ZYGOTE_DIR", str(broken.folder))
    (broken.sock / "in the way").mkdir(parents=True)
    experiment.submit(ScriptRunConfig(str(folder), "train.py")).wait_for_completion(
        raise_on_error=True, timeout_seconds=60)
    failed = broken.folder / f"{broken.key}.failed"
    wait_for(failed.exists, timeout=60)
    assert "Traceback" in broken.log.read_text()
    attempts = broken.log.stat().st_mtime_ns
    run = experiment.submit(ScriptRunConfig(str(folder), "train.py"))
    run.wait_for_completion(raise_on_error=True, timeout_seconds=60)
    assert broken.log.stat().st_mtime_ns == attempts  # not tried again at once
    assert not broken.alive()


@pytest.mark.slow
def test_the_fork_server_stops_when_idle(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNYARD_ZYGOTE_IDLE_SECONDS", "3")
    pid = server.start()
    started = time.monotonic()
    wait_for(lambda: not alive(pid), timeout=20)
    assert time.monotonic() - started < 15
    assert not server.sock.exists()
    assert "idle" in server.log.read_text()


def test_another_interpreter_or_user_never_reaches_this_server(server: Server) -> None:
    # another interpreter (here: the base Python of this venv, without its packages):
    # another start key, so another server
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if not base.exists() or str(base) == sys.executable:
        pytest.skip("no second interpreter here")
    import runyard.supervisor._start as start

    code = ("import importlib.util, os, sys\n"
            f"spec = importlib.util.spec_from_file_location('s', {start.__file__!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "print(module.start_key(os.environ))\n")
    other = subprocess.run([str(base), "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert other != server.key
    # another user cannot even connect: the socket and its folder are this user's alone
    server.start()
    if os.getuid() != 0:
        assert server.folder.stat().st_mode & 0o077 == 0
        return
    child = os.fork()
    if child == 0:  # as nobody
        code_ = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as handle:
                try:
                    handle.connect(str(server.sock))
                except PermissionError:
                    code_ = 0
        finally:
            os._exit(code_)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "another user reached the server"


@pytest.mark.slow
def test_two_workspaces_share_a_server_and_keep_their_own_stores(
        server: Server, tmp_path: Path, source: Callable[..., Path]) -> None:
    server.start()
    folder = source("print('hello')\n")
    runs = []
    for name in ("one", "two"):
        ws = Workspace.create(name, path=tmp_path / f"ws-{name}")
        run = Experiment(ws, name).submit(ScriptRunConfig(str(folder), "train.py"))
        run.wait_for_completion(raise_on_error=True, timeout_seconds=60)
        runs.append(run)
    for run, other in (runs, runs[::-1]):
        assert _forked_by(server, run) is not None
        assert run.id not in {r["id"] for r in other.workspace.store.list_runs()}


@pytest.mark.slow
def test_a_run_that_submits_runs_starts_no_fork_server_inside_its_tree(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    # there the server would be re-parented below the run's keeper and die with the run
    inner = Path(tempfile.mkdtemp(prefix="rz-"))
    try:
        code = textwrap.dedent(f"""
            from runyard import Experiment, ScriptRunConfig, Workspace
            ws = Workspace.from_config({str(experiment.workspace.path)!r})
            child = Experiment(ws, "inner").submit(
                ScriptRunConfig({str(source("print('inner')"))!r}, "train.py"))
            child.wait_for_completion(raise_on_error=True, timeout_seconds=60)
        """)
        run = experiment.submit(ScriptRunConfig(
            str(source(code)), "train.py",
            environment_variables={"RUNYARD_ZYGOTE_DIR": str(inner)}))
        run.wait_for_completion(raise_on_error=True, timeout_seconds=120)
        assert os.listdir(inner) == []  # the inner submit went by exec, started no server
    finally:
        shutil.rmtree(inner, ignore_errors=True)
