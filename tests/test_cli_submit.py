"""`runyard submit` with packages (--pip, --requirements, --environment), and what it says
about a script that is a folder or options meant for the script: real runs, real builds."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Environment, Run, Workspace
from tests.test_cli import assert_one_line_error, invoke

SHOW_SIX = """\
import os, sys
import six
print("six", six.__version__, "from", os.path.dirname(six.__file__))
print("python", sys.executable)
"""


@pytest.fixture
def env_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh environment cache, so a build is a real build (and is cleaned up)."""
    cache = tmp_path / "env-cache"
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(cache))
    return cache


def run_of(result_stdout: str, workspace: Workspace) -> Run:
    return Run.get(workspace, result_stdout.splitlines()[0])


def no_runs(workspace: Workspace) -> bool:
    return not workspace.store.list_runs()


# -- packages ------------------------------------------------------------------------------
@pytest.mark.slow
def test_pip_installs_the_package_for_the_run_with_uv(
        workspace: Workspace, source: Callable[..., Path], env_cache: Path) -> None:
    folder = source(SHOW_SIX)
    result = invoke(workspace, "submit", str(folder / "train.py"), "--pip", "six==1.16.0")
    assert "Status: Completed" in result.stdout
    assert "six 1.16.0 from " + str(env_cache) in result.stdout
    assert f"python {sys.executable}" not in result.stdout  # not runyard's interpreter
    run = run_of(result.stdout, workspace)
    spec = run.get_details()["runDefinition"]["environment"]["spec"]
    assert spec["pip"] == ["six==1.16.0"]
    assert spec["builder"] == "uv"
    assert "six==1.16.0" in run.read_log("logs/environment.txt", 0).decode()


@pytest.mark.slow
def test_requirements_and_pip_together_build_one_environment(
        workspace: Workspace, source: Callable[..., Path], env_cache: Path,
        tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the run's packages\nsix==1.16.0\n")
    folder = source(SHOW_SIX + "\nimport idna\nprint('idna', idna.__version__)\n")
    result = invoke(workspace, "submit", str(folder / "train.py"), "--requirements",
                    str(requirements), "--pip", "idna")
    assert "Status: Completed" in result.stdout
    assert "six 1.16.0 from " + str(env_cache) in result.stdout
    spec = run_of(result.stdout, workspace).get_details()["runDefinition"]["environment"]
    assert spec["spec"]["pip"] == ["idna", "six==1.16.0"]


def test_environment_runs_in_a_registered_environment_by_name_and_version(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    for greeting in ("one", "two"):
        env = Environment("greeter")
        env.environment_variables = {"GREETING": greeting}
        env.register(workspace)
    folder = source("import os\nprint('greeting', os.environ['GREETING'])")
    latest = invoke(workspace, "submit", str(folder / "train.py"), "--environment", "greeter")
    assert "greeting two" in latest.stdout
    first = invoke(workspace, "submit", str(folder / "train.py"), "--environment",
                   "greeter:1")
    assert "greeting one" in first.stdout
    definition = run_of(first.stdout, workspace).get_details()["runDefinition"]
    assert definition["environment"]["definition"]["version"] == 1


@pytest.mark.parametrize(("options", "fragments"), [
    (["--environment", "greeter", "--pip", "six"],
     ["--environment greeter cannot be combined with --pip"]),
    (["--environment", "greeter", "--requirements", "requirements.txt"],
     ["cannot be combined with --requirements"]),
    (["--environment", "nobody"], ["no environment 'nobody'", "registered: greeter"]),
    (["--environment", "greeter:9"], ["no version 9 of environment 'greeter'"]),
    (["--environment", "greeter:latest"], ["NAME:VERSION"]),
    (["--requirements", "missing.txt"], ["--requirements missing.txt: file not found"]),
    (["--requirements", "."], ["--requirements . is a folder"]),
    (["--pip", "not a package"], ["pip package 'not a package' is not a valid requirement"]),
])
def test_bad_package_options_are_one_line_and_create_no_run(
        workspace: Workspace, source: Callable[..., Path], options: list[str],
        fragments: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    Environment("greeter").register(workspace)
    folder = source("print('never')")
    monkeypatch.chdir(folder)
    result = invoke(workspace, "submit", "train.py", *options, code=2)
    assert_one_line_error(result, *fragments)
    assert no_runs(workspace)


def test_a_requirements_file_that_is_not_text_is_one_line(
        workspace: Workspace, source: Callable[..., Path], tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"\xff\xfesix\n")
    folder = source("print('never')")
    result = invoke(workspace, "submit", str(folder / "train.py"), "--requirements",
                    str(tmp_path / "requirements.txt"), code=2)
    assert_one_line_error(result, "requirements.txt is not UTF-8 text")
    assert no_runs(workspace)


# -- what the script is ----------------------------------------------------------------------
def test_an_option_after_the_script_gets_a_hint_to_put_double_dash(
        workspace: Workspace, source: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = source("print('never')")
    monkeypatch.chdir(folder)
    result = invoke(workspace, "submit", "train.py", "--tag", "a=b", "--epochs", "3", code=2)
    assert_one_line_error(result, "no such option --epochs", "put `--` before the script's "
                          "own arguments: runyard submit train.py --tag a=b -- --epochs 3")
    assert no_runs(workspace)
    with_value = invoke(workspace, "submit", "train.py", "--lr=0.1", code=2)
    assert_one_line_error(with_value, "runyard submit train.py -- --lr=0.1")


def test_an_unknown_option_before_the_script_is_clicks_usage_error(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    folder = source("print('never')")
    result = invoke(workspace, "submit", "--epochs", "3", str(folder / "train.py"), code=2)
    assert "No such option '--epochs'" in result.stderr
    assert "`--`" not in result.stderr


def test_options_after_double_dash_reach_the_script(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    folder = source("import sys\nprint('argv', sys.argv[1:])")
    result = invoke(workspace, "submit", str(folder / "train.py"), "--", "--epochs", "3",
                    "--experiment", "x")
    assert "argv ['--epochs', '3', '--experiment', 'x']" in result.stdout


def test_a_folder_given_as_the_script_says_it_is_a_folder(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    folder = source("print('never')")
    (folder / "helper.py").write_text("x = 1\n")
    result = invoke(workspace, "submit", str(folder), code=2)
    assert_one_line_error(result, f"{folder} is a folder, not a script",
                          "its Python files: helper.py, train.py",
                          f"like {folder / 'train.py'}")
    assert no_runs(workspace)
    inside = invoke(workspace, "submit", ".", "--source-dir", str(folder), code=2)
    assert_one_line_error(inside, ". is a folder, not a script")


@pytest.mark.parametrize(("arguments", "fragments"), [
    (["missing.py"], ["script missing.py not found"]),
    (["train.py", "--source-dir", "nowhere"], ["--source-dir nowhere not found"]),
    (["train.py", "--source-dir", "train.py"], ["--source-dir train.py is not a folder"]),
    (["../outside.py", "--source-dir", "."], ["script ../outside.py is outside --source-dir"]),
    (["other.py", "--source-dir", "."], ["script other.py not found in --source-dir"]),
])
def test_script_errors_are_spelled_with_the_commands_options(
        workspace: Workspace, source: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        arguments: list[str], fragments: list[str]) -> None:
    folder = source("print('never')")
    (folder.parent / "outside.py").write_text("print('never')\n")
    monkeypatch.chdir(folder)
    result = invoke(workspace, "submit", *arguments, code=2)
    assert_one_line_error(result, *fragments)
    assert "source_directory" not in result.stderr
    assert no_runs(workspace)


def test_the_pip_environment_is_named_after_the_experiment(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    folder = source("print('never')")
    result = invoke(workspace, "submit", str(folder / "train.py"), "--experiment", "a b",
                    "--pip", "six", code=2)
    assert_one_line_error(result, "experiment name 'a b'")  # not "environment name"
    assert no_runs(workspace)
