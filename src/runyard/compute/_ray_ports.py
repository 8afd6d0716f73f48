"""Ports and temp folders of owned Ray clusters: two clusters on one machine never meet.

Left to its defaults, every Ray cluster on a machine shares Ray's temp folder (`/tmp/ray`,
whose `ray_current_cluster` file names the last cluster started, and which Ray's job
supervisor reads to fill a job's RAY_ADDRESS) and several fixed ports (the dashboard
agent's 52365: the second cluster's agent cannot listen, and its job API answers "No
available agent"). So every node of an owned cluster gets:

- a block of `BLOCK` consecutive ports of its own, for every port Ray listens on (see
  `NODE_PORTS`, `HEAD_PORTS`) and its workers' range (`--min/max-worker-port`);
- the cluster's own temp folder, `/tmp/runyard-ray-<hash of the state folder>`: short,
  because Ray caps the length of the socket paths it makes under it.

Invariants:
- A block lies outside the kernel's ephemeral range (so no outgoing connection takes one
  of its ports while the node is up) and outside Ray's default ports (6379, 8265, 10001,
  10002-19999), and every port of it could be bound when it was chosen.
- No two live nodes on this machine hold the same block: blocks are claimed in one file
  per user, `CLAIMS`, under flock, with the pid and start time of the node's `ray start`
  process; a claim whose process is gone is void.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runyard._atomic import atomic_write
from runyard._procfs import alive, start_time
from runyard.errors import ComputeTargetException

ROOT = Path("/tmp")  # not $TMPDIR: Ray caps socket paths at 107 bytes, this stays short
CLAIMS = ROOT / f"runyard-ray-ports-{os.getuid()}.json"
FIRST_PORT = 20000   # above Ray's default worker range (10002-19999)
BLOCK = 128          # ports per node
NODE_PORTS = ("node_manager", "object_manager", "dashboard_agent_listen",
              "dashboard_agent_grpc", "metrics_export", "runtime_env_agent")
HEAD_PORTS = ("gcs", "dashboard", "ray_client_server", "dashboard_metrics",
              "autoscaler_metrics")
_NAMED = len(NODE_PORTS) + len(HEAD_PORTS)   # the rest of a block is the workers' range

# `ray start` flags (and, for the two metric servers Ray has no flag for, environment
# variables) of each named port
FLAGS = {"gcs": "--port", "dashboard": "--dashboard-port",
         "ray_client_server": "--ray-client-server-port",
         "node_manager": "--node-manager-port", "object_manager": "--object-manager-port",
         "dashboard_agent_listen": "--dashboard-agent-listen-port",
         "dashboard_agent_grpc": "--dashboard-agent-grpc-port",
         "metrics_export": "--metrics-export-port",
         "runtime_env_agent": "--runtime-env-agent-port"}
ENVIRONMENT = {"dashboard_metrics": "DASHBOARD_METRIC_PORT",
               "autoscaler_metrics": "AUTOSCALER_METRIC_PORT"}


def temp_dir_for(state_dir: Path) -> Path:
    """The temp folder of the owned cluster whose state is in `state_dir`."""
    digest = hashlib.sha256(str(Path(state_dir).resolve()).encode()).hexdigest()[:12]
    return ROOT / f"runyard-ray-{digest}"


def node_flags(ports: dict[str, Any], head: bool) -> tuple[list[str], dict[str, str]]:
    """The `ray start` flags and environment that make a node listen on `ports` only."""
    names = [*NODE_PORTS, *(HEAD_PORTS if head else ())]
    flags = [f"{FLAGS[name]}={ports[name]}" for name in names if name in FLAGS]
    flags += [f"--min-worker-port={ports['workers'][0]}",
              f"--max-worker-port={ports['workers'][1]}"]
    env = {ENVIRONMENT[name]: str(ports[name]) for name in names if name in ENVIRONMENT}
    return flags, env


@contextlib.contextmanager
def claimed_block(owner: str) -> Iterator[tuple[dict[str, Any], Callable[[int], None]]]:
    """Choose a free block for one node: yields its ports ({name: port, "workers":
    [first, last]}) and `record(pid)`, to call once the node's process runs. The machine's
    claims stay locked until the block is recorded (or given up, if `record` is not
    called)."""
    ROOT.mkdir(exist_ok=True)
    with open(CLAIMS.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        claims = _live_claims()
        start = _free_block({int(port) for port in claims})
        ports: dict[str, Any] = {name: start + offset for offset, name in
                                 enumerate((*NODE_PORTS, *HEAD_PORTS))}
        ports["workers"] = [start + _NAMED, start + BLOCK - 1]

        def record(pid: int) -> None:
            claims[str(start)] = {"pid": pid, "start_time": start_time(pid), "owner": owner}
            atomic_write(CLAIMS, json.dumps(claims))

        yield ports, record


def _live_claims() -> dict[str, dict[str, Any]]:
    try:
        claims: dict[str, dict[str, Any]] = json.loads(CLAIMS.read_text())
    except (OSError, ValueError):
        return {}
    return {block: claim for block, claim in claims.items()
            if isinstance(claim, dict) and isinstance(claim.get("pid"), int)
            and alive(claim["pid"]) and start_time(claim["pid"]) == claim.get("start_time")}


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _free_block(taken: set[int]) -> int:
    low, high = _ephemeral_range()
    starts = [start for first, last in ((FIRST_PORT, low - 1), (high + 1, 65535))
              for start in range(first, last - BLOCK + 2, BLOCK)]
    for start in starts:
        if start not in taken and all(_bindable(port) for port in range(start,
                                                                        start + BLOCK)):
            return start
    raise ComputeTargetException(
        f"no block of {BLOCK} free ports for a Ray node on this machine (between "
        f"{FIRST_PORT} and {low - 1}, or above {high}); stop some Ray clusters")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as handle:
        try:
            handle.bind(("", port))
        except OSError:
            return False
    return True
