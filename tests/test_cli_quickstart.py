"""The README's first run: `examples/quickstart/demo.py`, then the commands it prints."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from runyard import Model, Workspace

ROOT = Path(__file__).resolve().parent.parent
RUNYARD = Path(sys.executable).with_name("runyard")


@pytest.mark.slow
def test_the_quickstart_runs_and_every_command_it_prints_works(tmp_path: Path) -> None:
    folder = tmp_path / "demo ws"  # a space: the printed `cd` must quote it
    demo = subprocess.run([sys.executable, str(ROOT / "examples/quickstart/demo.py"),
                           "--workspace", str(folder)], capture_output=True, text=True,
                          timeout=120)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Status: Completed" in demo.stdout
    assert "final mse: " in demo.stdout
    assert "model: quickstart-linear version 1" in demo.stdout
    workspace = Workspace.from_config(folder)
    assert Model(workspace, "quickstart-linear").run_id is not None

    commands = [line.strip() for line in demo.stdout.split("Look at it from a shell", 1)[1]
                .splitlines()[1:] if line.strip()]
    assert commands[0] == f"cd {shlex.quote(str(folder))}"
    assert len(commands) == 8
    for command in commands[1:]:
        words = shlex.split(command)
        assert words[0] == "runyard"
        done = subprocess.run([str(RUNYARD), *words[1:]], cwd=folder, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
        assert "error" not in done.stderr
    assert (folder / "results" / "outputs" / "model.json").is_file()
    assert (folder / "model" / "model.json").is_file()
