"""A real, private Slurm cluster on this machine for the tests: munged, slurmctld and one
slurmd per node (Debian's slurm-wlm 22.05 and munge; `make system-deps` installs them).

`start_cluster()` writes a slurm.conf into a fresh folder, starts the daemons from it and
returns once every node is idle; `SlurmCluster.stop()` cancels what is left, stops them
and checks that no process of the cluster survives. Invariants:

- Everything lives in the cluster's folder: the munge key and socket, the state, spool
  and per-node tmp folders, the pid and log files. Nothing reads or writes /etc/slurm,
  /etc/munge or a system munged's socket, so two clusters (or a cluster and a system
  Slurm) never meet: each has its own ClusterName, munge key and ports on 127.0.0.1.
- The daemons run in the foreground as children of the test process (`munged -F`,
  `slurmctld -D`, `slurmd -D -N <node>`); every process of the cluster, job steps
  included, has the folder in its command line or environment (`SLURM_CONF`), which is
  how `stop()` proves none is left and `reap_abandoned()` finds a killed session's.
- Several nodes are several slurmd on this machine (node1, node2, ...), each with its own
  port, spool and TmpFS folder (PMIx needs the latter per node); `fail_node()` kills one
  as a machine failure would.
- Client commands reach the cluster only through `cluster.env` (`SLURM_CONF=...`).

The folder is made with `tempfile.mkdtemp` under /tmp rather than pytest's tmp_path:
munged wants every folder above its socket searchable by all, and a Unix socket path must
stay under 108 bytes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
DAEMONS = ("munged", "slurmctld", "slurmd", "slurmstepd")
CLIENTS = ("munge", "unmunge", "sbatch", "srun", "squeue", "sinfo", "scancel", "scontrol")
PARTITION = "debug"
FOLDER_PREFIX = "runyard-slurm-"
NODE_MARKER = "RUNYARD_SLURM_NODE"     # in each slurmd's (so its steps') environment

SLURM_CONF_TEMPLATE = """\
# written by runyard's tests/slurm.py: a private cluster, nothing outside {root}
ClusterName={cluster_name}
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={slurmctld_port}
SlurmdPort={slurmd_port}
# listen on 127.0.0.1 only (the controller too), not on every address
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
# per node: PMIx makes its per-step folders there, which two nodes on one machine share
TmpFS={root}/tmp/%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd-%n.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
# no systemd and no cgroups: processes tracked by parent pid, tasks not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
# MPI jobs ask for it: srun --mpi=pmix (OpenMPI 4 here speaks PMIx, not PMI-2)
MpiDefault=none
SchedulerType=sched/backfill
# start batch jobs on the next scheduler pass (about 1 s), not after 3 s
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
# each CPU is allocated on its own, memory is not a consumable; the node's CPUs are
# what is written here even where the hardware differs
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
SlurmdTimeout=30
# scancel: SIGKILL 5 s after SIGTERM; ended jobs stay in scontrol 300 s (no accounting)
KillWait=5
MinJobAge=300
{node_lines}
# jobs share a CPU only when they ask (--oversubscribe), up to 4 to a CPU
PartitionName={partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES:4
"""
NODE_LINE = ("NodeName={name} NodeAddr=127.0.0.1 NodeHostname={host} Port={port} CPUs={cpus} "
             "RealMemory={memory_mb} State=UNKNOWN")


class SlurmNotAvailable(RuntimeError):
    """Slurm's or munge's programs are not installed (`make system-deps` installs them)."""


class SlurmStartError(RuntimeError):
    """The cluster did not come up; the message carries the daemons' log tails."""


def find_program(name: str) -> str | None:
    """The path of a Slurm/munge program: PATH first, then the sbin folders a non-root
    PATH often lacks."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_programs() -> list[str]:
    """The programs the cluster needs that are not installed (empty: all there)."""
    return [name for name in DAEMONS + CLIENTS if find_program(name) is None]


def require_slurm() -> None:
    """Skip the calling test (or fixture) where Slurm is not installed, naming what is
    missing; on CI (CI=true, set by .ci/run) fail instead, since CI installs it."""
    missing = missing_programs()
    if missing:
        reason = (f"Slurm/munge not installed: no {', '.join(missing)} "
                  "(make system-deps installs slurm-wlm and munge)")
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (held open together while chosen,
    so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def machine_cpus() -> int:
    return len(os.sched_getaffinity(0))


def machine_memory_mb() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def _read_proc(pid: int, part: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{part}", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    stat = _read_proc(pid, "stat")
    return bool(stat) and stat.rsplit(b")", 1)[-1].split()[:1] != [b"Z"]


def _live_processes() -> Iterator[tuple[int, bytes, list[bytes]]]:
    """(pid, command line, environment entries) of every live process but this one."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and _alive(int(entry)):
            pid = int(entry)
            yield pid, _read_proc(pid, "cmdline"), _read_proc(pid, "environ").split(b"\0")


def processes_mentioning(text: str) -> list[int]:
    """Live processes (not this one) with `text` in their command line or environment."""
    needle = text.encode()
    return [pid for pid, cmdline, environ in _live_processes()
            if needle in cmdline or any(needle in entry for entry in environ)]


def _kill_and_wait(pids: Callable[[], list[int]], what: str) -> list[int]:
    """SIGKILL the processes `pids()` names until it names none; the pids killed."""
    killed: list[int] = []
    deadline = time.monotonic() + 10
    while survivors := pids():
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of {what} survived SIGKILL: {survivors}")
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed.extend(pid for pid in survivors if pid not in killed)
        time.sleep(0.05)
    return killed


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path.name}: none)"
    return f"--- {path.name} ---\n" + "\n".join(text[-lines:])


@dataclass
class SlurmCluster:
    """A running private cluster. Every Slurm command must get `env` (`SLURM_CONF`);
    `run()` does that. `nodes[0]` is `node_name`; with one node it is the machine's
    short hostname, with several they are node1, node2, ... (all on this machine)."""

    root: Path
    conf: Path
    cluster_name: str
    nodes: list[str]
    partition: str
    cpus: int                   # per node
    memory_mb: int              # per node
    slurmctld_port: int
    slurmd_ports: dict[str, int]
    munge_socket: Path
    munge_key: Path
    env: dict[str, str]
    started_in: float = 0.0     # seconds from start_cluster() to every node idle
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def node_name(self) -> str:
        return self.nodes[0]

    @property
    def log_files(self) -> list[Path]:
        return sorted(self.root.glob("*.log")) + sorted(self.root.glob("*.out"))

    def environ(self, **extra: str) -> dict[str, str]:
        """os.environ with this cluster's settings (and `extra`) on top."""
        merged = dict(os.environ)
        for name in [n for n in merged if n.startswith(("SLURM_", "SBATCH_", "SRUN_"))]:
            del merged[name]        # a test run inside a Slurm job must not leak into ours
        merged.update(self.env)
        merged.update(extra)
        return merged

    def run(self, *command: str, check: bool = True, timeout: float = 60,
            cwd: Path | str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command (`sbatch`, `squeue`, ...) against this cluster."""
        program = find_program(command[0]) or command[0]
        result = subprocess.run([program, *command[1:]], env=self.environ(), cwd=cwd,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}\n{self.logs()}")
        return result

    def logs(self) -> str:
        """The tails of the daemons' logs (for failure messages)."""
        return "\n".join(_tail(path) for path in self.log_files)

    def node_states(self) -> dict[str, str]:
        result = self.run("sinfo", "--noheader", "--Node", "--format", "%N %T",
                          check=False, timeout=10)
        if result.returncode != 0:
            return {}
        return dict(line.split(None, 1) for line in result.stdout.splitlines() if " " in line)

    def job_ids(self) -> list[str]:
        result = self.run("squeue", "--noheader", "--format", "%i", check=False, timeout=10)
        return result.stdout.split() if result.returncode == 0 else []

    def job_state(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as a dict (JobState, Reason, ExitCode, NodeList, ...), for
        MinJobAge (300 s) after the job ended; {} when Slurm no longer knows it."""
        result = self.run("scontrol", "show", "job", "--oneliner", job_id, check=False,
                          timeout=10)
        if result.returncode != 0:
            return {}
        return dict(item.split("=", 1) for item in result.stdout.split() if "=" in item)

    def fail_node(self, name: str, reason: str = "runyard test: node failed") -> None:
        """Make node `name` fail as a machine does: its slurmd and every process of its
        job steps are SIGKILLed, and the controller is told it is DOWN (rather than
        waiting SlurmdTimeout to notice). Jobs on it end NODE_FAIL (or are requeued,
        unless submitted with --no-requeue)."""
        if name not in self.nodes:
            raise ValueError(f"no node {name!r} in cluster {self.cluster_name}; "
                             f"nodes: {', '.join(self.nodes)}")
        marker = f"{NODE_MARKER}={self.root}/{name}".encode()
        step_env = (f"SLURM_CONF={self.conf}".encode(), f"SLURMD_NODENAME={name}".encode())

        def on_node() -> list[int]:
            return [pid for pid, _, environ in _live_processes()
                    if marker in environ or all(entry in environ for entry in step_env)]

        _kill_and_wait(on_node, f"node {name}")
        process = self.processes.get(f"slurmd-{name}")
        if process is not None:
            process.wait(10)
        self.run("scontrol", "update", f"NodeName={name}", "State=DOWN", f"Reason={reason}")

    def stop(self, timeout: float = 20) -> list[int]:
        """Cancel every job, stop the daemons, remove the folder. Returns the pids of
        the processes that were still there after the daemons stopped and had to be
        killed (none when every job ended on scancel); raises if any survives SIGKILL."""
        controller = self.processes.get("slurmctld")
        if controller is not None and controller.poll() is None:
            jobs = self.job_ids()
            if jobs:
                self.run("scancel", *jobs, check=False, timeout=10)
                deadline = time.monotonic() + timeout
                while self.job_ids() and time.monotonic() < deadline:
                    time.sleep(0.1)
        # node daemons first, then the controller, then munge (both need it to the end)
        order = [n for n in self.processes if n.startswith("slurmd-")] + ["slurmctld", "munged"]
        for name in [n for n in order if n in self.processes]:
            process = self.processes[name]
            if process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        strays = _kill_and_wait(lambda: processes_mentioning(f"{self.root}/"),
                                f"Slurm cluster {self.cluster_name}")
        shutil.rmtree(self.root, ignore_errors=True)
        return strays


def reap_abandoned(base: Path | None = None) -> list[Path]:
    """Remove the clusters of test processes that died without stopping theirs (a killed
    pytest): their daemons and jobs are killed and their folders removed. Clusters whose
    owner is alive are left alone. Returns the folders removed."""
    removed = []
    for root in Path(base or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            owner = int((root / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if owner > 0 and _alive(owner):
            continue
        _kill_and_wait(functools.partial(processes_mentioning, f"{root}/"), str(root))
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


def write_config(root: Path, *, nodes: int = 1, cpus: int | None = None,
                 memory_mb: int | None = None) -> SlurmCluster:
    """Lay out the cluster's folder (munge key, state and spool folders, slurm.conf) in
    the existing, empty `root`; start nothing."""
    if nodes < 1:
        raise ValueError(f"a cluster needs at least one node, not {nodes}")
    host = socket.gethostname().split(".")[0]
    names = [host] if nodes == 1 else [f"node{i}" for i in range(1, nodes + 1)]
    slurmctld_port, *ports = free_ports(1 + nodes)
    cluster = SlurmCluster(
        root=root, conf=root / "slurm.conf", cluster_name="ry" + secrets.token_hex(4),
        nodes=names, partition=PARTITION, cpus=cpus or machine_cpus(),
        memory_mb=memory_mb or machine_memory_mb(), slurmctld_port=slurmctld_port,
        slurmd_ports=dict(zip(names, ports, strict=True)),
        munge_socket=root / "munge" / "munge.socket", munge_key=root / "munge" / "munge.key",
        env={"SLURM_CONF": str(root / "slurm.conf")})
    # munged: the key readable only by its owner, the socket's folder searchable by all
    (root / "munge").mkdir(mode=0o755)
    fd = os.open(cluster.munge_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(128))
    (root / "state").mkdir(mode=0o755)
    for name in names:
        (root / "spool" / name).mkdir(mode=0o755, parents=True)
        (root / "tmp" / name).mkdir(mode=0o1777, parents=True)
    node_lines = "\n".join(
        NODE_LINE.format(name=name, host=host, port=port, cpus=cluster.cpus,
                         memory_mb=cluster.memory_mb)
        for name, port in cluster.slurmd_ports.items())
    cluster.conf.write_text(SLURM_CONF_TEMPLATE.format(
        root=root, cluster_name=cluster.cluster_name, host=host, slurmctld_port=slurmctld_port,
        slurmd_port=ports[0], user=pwd.getpwuid(os.getuid()).pw_name,
        munge_socket=cluster.munge_socket, node_lines=node_lines, partition=PARTITION))
    return cluster


def _spawn(cluster: SlurmCluster, name: str, command: list[str],
           **extra_env: str) -> None:
    with open(cluster.root / f"{name}.out", "wb") as out:
        cluster.processes[name] = subprocess.Popen(
            command, env=cluster.environ(**extra_env), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, cwd=cluster.root, start_new_session=True)


def _wait(cluster: SlurmCluster, what: str, ready: Callable[[], object],
          deadline: float) -> None:
    while True:
        dead = [name for name, process in cluster.processes.items() if process.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = f"{', '.join(dead)} exited" if dead else "timed out"
            raise SlurmStartError(f"Slurm cluster {cluster.cluster_name}: {what}: {why}\n"
                                  f"{cluster.logs()}")
        try:
            if ready():
                return
        except subprocess.TimeoutExpired:
            pass            # a client command that hung (a port not answering yet)
        time.sleep(0.05)


def start_cluster(*, nodes: int = 1, cpus: int | None = None, memory_mb: int | None = None,
                  timeout: float = 60, attempts: int = 3) -> SlurmCluster:
    """Write the configuration into a new folder, start munged, slurmctld and one slurmd
    per node, and return once every node is idle. `cpus` and `memory_mb` are per node
    (default: this machine's). On failure everything started is stopped again; a port
    taken between choosing it and binding it means another try, with new ports."""
    missing = missing_programs()
    if missing:
        raise SlurmNotAvailable(f"Slurm/munge programs not installed: {', '.join(missing)} "
                                "(make system-deps installs slurm-wlm and munge)")
    started = time.monotonic()
    reap_abandoned()
    for attempt in range(1, attempts + 1):
        try:
            cluster = _start(nodes, cpus, memory_mb, deadline=started + timeout)
        except SlurmStartError as error:
            if attempt == attempts or "Address already in use" not in str(error):
                raise
            continue
        cluster.started_in = time.monotonic() - started
        return cluster
    raise AssertionError("unreachable")


def _start(nodes: int, cpus: int | None, memory_mb: int | None,
           deadline: float) -> SlurmCluster:
    root = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    root.chmod(0o755)
    (root / "owner.pid").write_text(str(os.getpid()))
    cluster = write_config(root, nodes=nodes, cpus=cpus, memory_mb=memory_mb)
    try:
        _spawn(cluster, "munged", [
            str(find_program("munged")), "--foreground",
            f"--socket={cluster.munge_socket}", f"--key-file={cluster.munge_key}",
            f"--pid-file={root / 'munge' / 'munged.pid'}", f"--log-file={root / 'munged.log'}",
            f"--seed-file={root / 'munge' / 'munged.seed'}"])
        _wait(cluster, "munged's socket", cluster.munge_socket.exists, deadline)
        _spawn(cluster, "slurmctld", [str(find_program("slurmctld")), "-D", "-f",
                                      str(cluster.conf)])
        _wait(cluster, "slurmctld answering",
              lambda: "UP" in cluster.run("scontrol", "ping", check=False, timeout=3).stdout,
              deadline)
        for name in cluster.nodes:
            _spawn(cluster, f"slurmd-{name}",
                   [str(find_program("slurmd")), "-D", "-f", str(cluster.conf), "-N", name],
                   **{NODE_MARKER: f"{root}/{name}"})
        _wait(cluster, f"nodes {', '.join(cluster.nodes)} idle",
              lambda: cluster.node_states() == dict.fromkeys(cluster.nodes, "idle"), deadline)
    except BaseException:
        with contextlib.suppress(Exception):
            cluster.stop(timeout=5)
        raise
    return cluster


@contextlib.contextmanager
def running_cluster(*, nodes: int = 1, cpus: int | None = None,
                    memory_mb: int | None = None) -> Iterator[SlurmCluster]:
    """`start_cluster(...)`, stopped (and checked for leftovers) on exit."""
    cluster = start_cluster(nodes=nodes, cpus=cpus, memory_mb=memory_mb)
    try:
        yield cluster
    finally:
        cluster.stop()
