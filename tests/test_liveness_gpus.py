"""Two rules with one home each: the supervisor's liveness (heartbeat period and when a
silent one is dead, `runyard._liveness`) and counting this machine's GPUs
(`runyard.compute._gpus`), each used by everything that needs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runyard import _liveness, run
from runyard.compute import _gpus, get_compute_target
from runyard.errors import ValidationError
from runyard.workspace import Workspace


def test_the_liveness_rule_lives_beside_the_heartbeat() -> None:
    from runyard.supervisor import _driver

    assert run.STALE_SECONDS is _liveness.STALE_SECONDS
    assert _driver.HEARTBEAT_SECONDS is _liveness.HEARTBEAT_SECONDS
    # a supervisor is taken for dead only after several missed beats
    assert _liveness.STALE_SECONDS >= 3 * _liveness.HEARTBEAT_SECONDS
    row = {"heartbeat_at": 100.0, "created_at": 50.0}
    assert _liveness.silent_seconds(row, 120.0) == 20.0
    assert _liveness.silent_seconds({"heartbeat_at": None, "created_at": 50.0}, 120.0) == 70.0
    assert not _liveness.is_stale(_liveness.STALE_SECONDS)
    assert _liveness.is_stale(_liveness.STALE_SECONDS + 0.1)


def test_the_liveness_module_loads_nothing_heavy() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, runyard._liveness; "
                               "print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert [m for m in loaded if m.startswith("runyard")] == ["runyard", "runyard._liveness"]
    assert not {"sqlalchemy", "runyard.store", "runyard.supervisor"} & set(loaded)


def _fake_nvidia_smi(folder: Path, listing: str) -> None:
    folder.mkdir(exist_ok=True)
    tool = folder / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\n[ \"$1\" = -L ] && printf '{listing}'\n")
    tool.chmod(0o755)


def test_gpus_are_counted_in_one_place_from_nvidia_smi(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runyard.train.estimator as estimator

    assert not hasattr(estimator, "_gpu_count")      # not the estimator's business
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert _gpus.gpu_count() == 0                    # no nvidia-smi: none
    _fake_nvidia_smi(tmp_path / "bin", "GPU 0: A (UUID: GPU-1)\\nGPU 1: A (UUID: GPU-2)\\n"
                                       "MIG 1g.10gb Device 0: (UUID: MIG-3)\\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    assert _gpus.gpu_count() == 2


def test_the_local_compute_asks_the_shared_count_at_submit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create("ws", path=tmp_path / "ws")
    local = get_compute_target(ws, None)
    wants_gpu = {"estimator": {"framework": "tensorflow", "use_gpu": True}}
    _fake_nvidia_smi(tmp_path / "none", "")
    monkeypatch.setenv("PATH", f"{tmp_path / 'none'}{os.pathsep}/usr/bin:/bin")
    with pytest.raises(ValidationError, match="use_gpu=True, but this machine has no NVIDIA"):
        local.check_submission(wants_gpu)
    _fake_nvidia_smi(tmp_path / "one", "GPU 0: A (UUID: GPU-1)\\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'one'}{os.pathsep}/usr/bin:/bin")
    local.check_submission(wants_gpu)
