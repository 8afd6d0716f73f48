"""`runyard env list|build|prune` against a real cache and real uv builds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from runyard.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "cache"))
    return CliRunner()


@pytest.mark.slow
def test_build_shows_the_build_then_finds_it_and_list_and_prune_see_it(
        runner: CliRunner, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.16.0\n")
    built = runner.invoke(cli, ["env", "build", str(requirements)])
    assert built.exit_code == 0, built.output
    assert "building environment" in built.output
    assert "+ six==1.16.0" in built.output
    interpreter = built.stdout.strip().splitlines()[-1].rsplit(": ", 1)[1]
    built_python = subprocess.run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True).stdout.strip()
    again = runner.invoke(cli, ["env", "build", str(requirements)])
    assert "found in the cache" in again.output
    listed = runner.invoke(cli, ["env", "list"])
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["hash", "builder", "python", "packages"]
    assert len(lines) == 2, listed.stdout
    # the Python listed is the one built, by default runyard's own (no --python)
    assert built_python == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert lines[1].split()[1:4] == ["uv", built_python, "six==1.16.0"]
    assert runner.invoke(cli, ["env", "prune", "--days", "30"]).output.count("removed ") == 0
    marker = next((tmp_path / "cache").glob("*/.runyard-env.json"))
    old = time.time() - 31 * 86400
    os.utime(marker, (old, old))
    pruned = runner.invoke(cli, ["env", "prune", "--days", "30"])
    assert "removed " in pruned.output
    assert "no environments" in runner.invoke(cli, ["env", "list"]).output


@pytest.mark.slow
def test_a_failing_build_is_one_line_with_the_installers_words(runner: CliRunner,
                                                               tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("runyard-no-such-package-zz\n")
    result = runner.invoke(cli, ["env", "build", str(requirements)])
    assert result.exit_code == 2
    assert "error: uv pip failed" in result.output
    assert "not found in the package registry" in result.output


def test_a_bad_requirements_file_names_the_line(runner: CliRunner, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\nthis is not a requirement\n")
    result = runner.invoke(cli, ["env", "build", str(requirements)])
    assert result.exit_code == 2
    assert "requirements.txt:2" in result.output


def test_a_bad_python_version_names_the_option(runner: CliRunner, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n")
    result = runner.invoke(cli, ["env", "build", str(requirements), "--python", "three"])
    assert result.exit_code == 2
    assert result.stderr == "error: --python 'three' is not a version like '3.11'\n"
