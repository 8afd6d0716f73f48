"""An owned Ray cluster's nodes: starting and stopping its head and worker nodes on this
machine, their ports and temp folder, scaling up and down, and the state files.

An owned cluster (a `RayCompute` without `address`) keeps its state in
`<workspace>/.runyard/ray/<name>/`: the token (mode 0600), `nodes.json` (each node's
`ray start --block` process: pid, start time, index, ports), each node's log, and a lock
file that serializes starting and stopping nodes. Each node is a process group in a
session of its own; the cluster's ports and temp folder are its own (`_ray_ports`).
`OwnedNodes` is the part of `RayCompute` that does this; the functions below read a
cluster's GCS (its nodes, idle times) and stop a node's processes. Nothing here imports ray
at import time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from runyard._procfs import OUTLIVES_RUN, alive, all_stats, start_time
from runyard.compute import _ray_ports
from runyard.errors import ComputeTargetException

if TYPE_CHECKING:
    from runyard.workspace import Workspace

RAY_STATE = "ray"          # <workspace>/.runyard/ray/<name>/: token, node processes, logs
OBJECT_STORE_BYTES = 100 * 1024 * 1024  # runyard moves no data through Ray's object store


class OwnedNodes:
    """The nodes of an owned cluster (mixed into `RayCompute`): its state folder, token,
    node processes, and starting, scaling and stopping them. An attached cluster (with an
    `address`) has none of these: its methods that scale do nothing there."""

    type: ClassVar[str]
    workspace: Workspace
    name: str
    config: dict[str, Any]

    # -- state --------------------------------------------------------------------------
    @property
    def owned(self) -> bool:
        return not self.config.get("address")

    @property
    def state_dir(self) -> Path:
        return self.workspace.config_dir / RAY_STATE / self.name

    @property
    def gcs_address(self) -> str | None:
        return self.config.get("gcs_address")

    @property
    def temp_dir(self) -> Path | None:
        """Ray's temp folder for an owned cluster's nodes (its own, see _ray_ports)."""
        folder = self.config.get("temp_dir")
        return Path(folder) if folder else None

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.config.get("resources") or {"CPU": 1})

    def ray_environment(self) -> dict[str, str]:
        """What a process needs in its environment to talk to this cluster."""
        env = {"RAY_USAGE_STATS_ENABLED": "0"}
        if self.owned:
            env.update({"RAY_AUTH_MODE": "token",
                        "RAY_AUTH_TOKEN_PATH": str(self.state_dir / "token")})
        return env

    def _save(self) -> None:
        self.workspace.store.put_compute_target(self.name, self.type, self.config)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _nodes_file(self) -> Path:
        return self.state_dir / "nodes.json"

    def _node_processes(self) -> list[dict[str, Any]]:
        """The `ray start --block` processes of an owned cluster: head first."""
        try:
            listed: list[dict[str, Any]] = json.loads(self._nodes_file().read_text())
        except (OSError, ValueError):
            return []
        return listed

    def _write_nodes(self, nodes: list[dict[str, Any]]) -> None:
        from runyard._atomic import atomic_write

        atomic_write(self._nodes_file(), json.dumps(nodes))

    # -- starting nodes -----------------------------------------------------------------
    def _start_head(self) -> None:
        token = self.state_dir / "token"
        if not token.exists():
            descriptor = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        temp_dir = _ray_ports.temp_dir_for(self.state_dir)
        temp_dir.mkdir(mode=0o700, exist_ok=True)
        self.config["temp_dir"] = str(temp_dir)
        with _ray_ports.claimed_block(str(self.state_dir)) as (ports, record):
            self.config["gcs_address"] = f"127.0.0.1:{ports['gcs']}"
            self.config["dashboard_url"] = f"http://127.0.0.1:{ports['dashboard']}"
            flags, env = _ray_ports.node_flags(ports, head=True)
            command = ["ray", "start", "--head", "--dashboard-host=127.0.0.1",
                       "--include-dashboard=true", *flags, *self._node_flags(0)]
            pid = self._spawn(command, "head", env)
            record(pid)
        self._write_nodes([{"pid": pid, "index": 0, "head": True,
                            "start_time": start_time(pid), "ports": ports}])
        self._save()

    def _node_flags(self, index: int) -> list[str]:
        """Node `index`'s temp folder and resources."""
        resources = self.resources
        custom = {k: v for k, v in resources.items()
                  if k not in ("CPU", "GPU", "memory_gib")}
        custom[f"runyard_node_{index}"] = 1  # which Ray node is which of our processes
        flags = [*([f"--temp-dir={self.temp_dir}"] if self.temp_dir else []),
                 "--disable-usage-stats",
                 f"--num-cpus={int(resources.get('CPU', 1))}",
                 f"--num-gpus={min(int(resources.get('GPU', 0)), _gpus_here())}",
                 f"--object-store-memory={OBJECT_STORE_BYTES}",
                 f"--resources={json.dumps(custom)}"]
        if resources.get("memory_gib"):
            flags.append(f"--memory={int(float(resources['memory_gib']) * 2**30)}")
        return flags

    def _spawn(self, command: list[str], label: str, extra_env: dict[str, str]) -> int:
        """Start a `ray start ... --block` in its own session, detached from this process;
        return its pid (which is its process group)."""
        log = self.state_dir / f"{label}.log"
        env = {**os.environ, **self.ray_environment(), **extra_env,
               "PATH": os.pathsep.join([_bin_path(), os.environ.get("PATH", "")])}
        env.pop("RAY_ADDRESS", None)  # the node joins --address, nothing else
        # a node started while a run waits for it (scale-up, from the run's driver) is the
        # cluster's: the run's keeper leaves it running when the run ends
        env[OUTLIVES_RUN] = "1"
        # the node's process is a shell that keeps OUTLIVES_RUN in its own environment and
        # starts `ray start` without it (Ray's workers, and the runs they start, must not
        # inherit it); it outlives a TERM until Ray has drained, so its pid is the node's
        started = subprocess.run(
            ["/bin/sh", "-c", 'setsid /bin/sh -c \'trap : TERM INT; unset ' + OUTLIVES_RUN
             + '; "$@"; exit $?\' node "$@" </dev/null >>"$RUNYARD_RAY_LOG" 2>&1 & echo $!',
             "sh", *command, "--block"],
            env={**env, "RUNYARD_RAY_LOG": str(log)}, capture_output=True, text=True,
            check=True, stdin=subprocess.DEVNULL)
        return int(started.stdout.strip())

    def _start_worker_node(self) -> None:
        """One more worker node (call with the lock held)."""
        nodes = [n for n in self._node_processes() if self._is_ours(n)]
        index = max((n["index"] for n in nodes), default=0) + 1
        with _ray_ports.claimed_block(str(self.state_dir)) as (ports, record):
            flags, env = _ray_ports.node_flags(ports, head=False)
            command = ["ray", "start", f"--address={self.gcs_address}", *flags,
                       *self._node_flags(index)]
            pid = self._spawn(command, f"node-{index}", env)
            record(pid)
        nodes.append({"pid": pid, "index": index, "head": False,
                      "start_time": start_time(pid), "ports": ports})
        self._write_nodes(nodes)

    def ensure_nodes(self, count: int) -> int:
        """Owned clusters: start worker nodes until `count` of this cluster's node processes
        run (at most max_nodes); return how many were started."""
        if not self.owned:
            return 0
        with self._locked():
            running = [n for n in self._node_processes() if self._is_ours(n)]
            wanted = min(count, int(self.config["max_nodes"])) - len(running)
            for _ in range(max(0, wanted)):
                self._start_worker_node()
        return max(0, wanted)

    def scale_up(self, needed: int) -> int:
        """Owned clusters, for a run Ray cannot place: start the nodes it lacks (it needs
        `needed` separate nodes), or one more when there are enough but they are busy."""
        running = len([n for n in self._node_processes() if self._is_ours(n)])
        return self.ensure_nodes(max(needed, running + 1))

    def scale_down_idle(self) -> list[int]:
        """Owned clusters: stop worker nodes idle for idle_seconds_before_scaledown while
        there are more than min_nodes; return the stopped nodes' indexes."""
        if not self.owned or not self.gcs_address:
            return []
        idle_limit = float(self.config["idle_seconds_before_scaledown"])
        stopped: list[int] = []
        with self._locked():
            processes = [n for n in self._node_processes() if self._is_ours(n)]
            floor = max(1, int(self.config["min_nodes"]))
            by_index = {n["index"]: n for n in processes if not n.get("head")}
            if len(processes) <= floor:
                return []  # nothing to stop: no need to ask the GCS (a child process)
            for node in _gcs_nodes(self.gcs_address, self.ray_environment()):
                if len(processes) - len(stopped) <= floor:
                    break
                index = node.get("runyard_index")
                idle = node.get("idle_seconds")
                if isinstance(index, int) and index in by_index and idle is not None \
                        and idle >= idle_limit and self._is_ours(by_index[index]):
                    _stop_process_group(by_index[index]["pid"])
                    stopped.append(index)
            if stopped:
                self._write_nodes([n for n in processes if n["index"] not in stopped])
        return stopped

    # -- readiness ----------------------------------------------------------------------
    def _head_failure(self) -> str | None:
        """Why an owned head is not running, from its log, or None while it runs."""
        head = next((n for n in self._node_processes() if n.get("head")), None)
        if head is not None and self._is_ours(head):
            return None
        from runyard._local import read_tail

        lines = [line for line in read_tail(self.state_dir / "head.log", 4000).splitlines()
                 if line.strip()]
        errors = [line for line in lines if "Error" in line or "error" in line]
        return (errors or lines or ["no output"])[-1].strip()[:400]

    def _job_agent_answers(self, nodes: list[dict[str, Any]]) -> bool:
        """Whether the job API can take a job now. Ray hands every submitted job to the
        head's dashboard agent, which starts seconds after the dashboard (until then a
        submit answers "No available agent"); an owned cluster's head agent listens on a
        port of its own, asked here. Of an attached cluster only the dashboard is known."""
        import urllib.error
        import urllib.request

        head = next((n for n in self._node_processes() if n.get("head")), None)
        port = ((head or {}).get("ports") or {}).get("dashboard_agent_listen")
        if not self.owned or port is None:
            return True
        host = next((n["address"] for n in nodes if n.get("runyard_index") == 0), None)
        if host is None:
            return False
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/api/healthz",
                                        timeout=5) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    # -- stopping -----------------------------------------------------------------------
    def _remove_folders(self) -> None:
        """An owned cluster's state folder and Ray's temp folder (its nodes are gone)."""
        shutil.rmtree(self.state_dir, ignore_errors=True)
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    @staticmethod
    def _is_ours(node: dict[str, Any]) -> bool:
        """Whether `node`'s process is still the one started for it (pids get reused: the
        start time recorded at spawn tells)."""
        return alive(node["pid"]) and start_time(node["pid"]) == node.get("start_time")

    def _stop_all_nodes(self) -> None:
        nodes = self._node_processes()
        for node in sorted(nodes, key=lambda n: bool(n.get("head"))):  # head last
            if self._is_ours(node):
                _stop_process_group(node["pid"])


def gcs_unreachable(gcs_address: str, timeout: float,
                    refused_for: float = 5.0) -> str | None:
    """Why the Ray GCS at `gcs_address` (host:port) cannot be used, or None once it speaks
    gRPC. Bounded by `timeout` seconds (ray.init itself waits many minutes for a GCS that
    does not answer); a port nothing listens on is given up after `refused_for` seconds."""
    import grpc  # type: ignore[import-untyped]

    host, _, port = gcs_address.rpartition(":")
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)),
                                          timeout=max(0.1, deadline - time.monotonic())):
                break
        except ValueError:
            return f"{gcs_address!r} is not host:port"
        except OSError as e:
            now = time.monotonic()
            if now > deadline or (isinstance(e, ConnectionRefusedError)
                                  and now - started > refused_for):
                reason = "nothing listens there" if isinstance(e, ConnectionRefusedError) \
                    else (e.strerror or type(e).__name__)
                return f"{reason} (waited {now - started:.0f} s)"
            time.sleep(0.25)
    if os.environ.get("RAY_USE_TLS", "0") not in ("", "0"):
        return None  # a TLS GCS: the plain channel below could not tell
    channel = grpc.insecure_channel(gcs_address)
    try:
        grpc.channel_ready_future(channel).result(
            timeout=max(0.1, deadline - time.monotonic()))
    except grpc.FutureTimeoutError:
        return (f"it accepts connections but does not answer as a GCS (gRPC) "
                f"within {timeout:.0f} s")
    finally:
        channel.close()
    return None


def _gcs_nodes(gcs_address: str, env: dict[str, str]) -> list[dict[str, Any]]:
    """Alive nodes with resources total/used and idle time, from Ray's GCS (the data behind
    `ray status`). Read in a child process: Ray takes its authentication settings from the
    environment when it is first imported, which may have happened here without them."""
    why = gcs_unreachable(gcs_address, timeout=10, refused_for=0)
    if why is not None:
        raise ComputeTargetException(f"cannot read the Ray cluster at {gcs_address}: {why}")
    try:
        found = subprocess.run(
            [sys.executable, "-m", "runyard.compute._ray_status", gcs_address],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
            check=False)
    except subprocess.TimeoutExpired as e:
        raise ComputeTargetException(f"the Ray cluster at {gcs_address} did not answer "
                                     f"within 60 s") from e
    if found.returncode != 0:
        lines = [line for line in found.stderr.splitlines() if line.strip()]
        raise ComputeTargetException(f"cannot read the Ray cluster at {gcs_address}: "
                                     f"{lines[-1] if lines else found.returncode}")
    nodes: list[dict[str, Any]] = json.loads(found.stdout)
    return nodes


def _runyard_index(resources: dict[str, Any]) -> int | None:
    """Which of an owned cluster's node processes a Ray node is (its runyard_node_<i>)."""
    return next((int(name.rsplit("_", 1)[1]) for name in resources
                 if name.startswith("runyard_node_")), None)


def _stop_process_group(pid: int, grace: float = 5.0) -> None:
    """Stop a node: SIGTERM its `ray start --block` group (Ray drains the node), SIGKILL
    what is left of its session after `grace` seconds (Ray's workers run in process groups
    of their own, in the node's session; left alone, one still starting writes into the
    temp folder after the cluster is deleted), and wait until all of it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [member for member in _session_members(pid) if alive(member)]
        if not left and not alive(pid):
            break
        for member in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, signal.SIGKILL)
        time.sleep(0.05)


def _session_members(session: int) -> list[int]:
    """The processes of session `session`."""
    return [pid for pid, fields in all_stats() if len(fields) > 3 and int(fields[3]) == session]


def _bin_path() -> str:
    """The folder of this Python's scripts (where `ray` is when installed beside runyard)."""
    return str(Path(sys.executable).parent)


def _gpus_here() -> int:
    from runyard.compute._gpus import gpu_count

    return gpu_count()
