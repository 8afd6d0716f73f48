"""Submit → the script's first line on the local compute: what the run's supervisor loads
before the script starts (bench/run.py measures the time itself; a sweep pays it per trial)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from runyard.compute.local_executor import PORTS_PER_RUN, _HeldPorts
from runyard.distributed.plan import make_plan

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
