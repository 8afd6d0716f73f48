"""Environments: v1-shaped definitions, built for real with uv, cached by content."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from runyard import Experiment, ScriptRunConfig, Workspace
from runyard.environment import CondaDependencies, Environment, EnvironmentCache
from runyard.environment._cache import PreparedEnvironment
from runyard.errors import EnvironmentBuildError, InvalidNameError, ValidationError

from .conftest import wait_for


@pytest.fixture
def build_log(tmp_path: Path) -> Iterator[IO[str]]:
    with open(tmp_path / "build.txt", "w") as log:
        yield log


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EnvironmentCache:
    """A cache of our own; supervisors inherit the variable from this process."""
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    return EnvironmentCache()


def _env(name: str, *packages: str, python: str | None = None) -> Environment:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=list(packages),
                                                             python_version=python)
    return env


USES_SIX = """
    import importlib.util, sys
    import six
    from runyard import Run
    run = Run.get_context()
    run.log("six_version", six.__version__)
    run.log("has_sqlalchemy", int(importlib.util.find_spec("sqlalchemy") is not None))
    print("interpreter", sys.executable)
"""


# -- definitions ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 256])
def test_invalid_environment_names_fail_at_construction(name: str) -> None:
    with pytest.raises(InvalidNameError, match="environment name"):
        Environment(name)


def test_requirements_are_checked_and_normalised() -> None:
    with pytest.raises(ValidationError, match=r"'numpy=>1\.0' is not a valid requirement"):
        CondaDependencies.create(pip_packages=["numpy=>1.0"])
    with pytest.raises(ValidationError, match="--trusted-host"):
        CondaDependencies().set_pip_option("--trusted-host example.org")
    one = _env("a", "Six==1.16.0", "packaging>=23")
    two = _env("b", "packaging >= 23", "six==1.16.0")
    assert one.build_spec()["pip"] == ["packaging>=23", "six==1.16.0"]
    assert one.spec_hash() == two.spec_hash()  # order, case and spaces do not matter
    assert _env("c", "six==1.15.0").spec_hash() != one.spec_hash()
    assert _env("d", "six==1.16.0", python="3.12").spec_hash() != \
        _env("d", "six==1.16.0").spec_hash()


def test_environment_variables_do_not_change_what_is_built() -> None:
    plain = _env("a", "six")
    with_variables = _env("a", "six")
    with_variables.environment_variables = {"OMP_NUM_THREADS": "1"}
    assert plain.spec_hash() == with_variables.spec_hash()


def test_from_pip_requirements_reads_requirements_and_index_options(tmp_path: Path) -> None:
    file = tmp_path / "requirements.txt"
    file.write_text("# pinned\nsix==1.16.0  # comment\n\n--extra-index-url https://x.org/s\n")
    env = Environment.from_pip_requirements("from-file", file)
    assert env.build_spec()["pip"] == ["six==1.16.0"]
    assert env.build_spec()["pip_options"] == ["--extra-index-url https://x.org/s"]
    file.write_text("six==1.16.0\nnot a requirement!\n")
    with pytest.raises(ValidationError, match=r"requirements\.txt:2"):
        Environment.from_pip_requirements("bad", file)


def test_no_packages_means_the_interpreter_as_it_is() -> None:
    assert Environment("plain").user_managed
    assert not _env("built", "six").user_managed
    managed = _env("mine", "six")
    managed.python.user_managed_dependencies = True
    assert managed.user_managed


def test_what_cannot_be_built_here_fails_at_submit(experiment: Experiment,
                                                   source: Callable[..., Path]) -> None:
    folder = source("pass")
    old = _env("old", "six", python="3.8")
    with pytest.raises(ValidationError, match=r"3\.10 or newer"):
        experiment.submit(ScriptRunConfig(folder, "train.py", environment=old))
    if not any(shutil.which(t) for t in ("conda", "mamba", "micromamba")):
        # Docker settings and the PyPI fallback: tests/test_azureml_environments.py
        conda = Environment("conda")
        conda.python.conda_dependencies = CondaDependencies.create(conda_packages=["openmpi"])
        with pytest.raises(ValidationError, match="'openmpi' has no PyPI counterpart"):
            experiment.submit(ScriptRunConfig(folder, "train.py", environment=conda))
    assert experiment.workspace.store.list_runs() == []


def test_register_versions_and_get(workspace: Workspace) -> None:
    env = _env("team-env", "six==1.16.0")
    assert env.register(workspace).version == 1
    assert _env("team-env", "six==1.16.0").register(workspace).version == 1  # unchanged
    assert _env("team-env", "six==1.15.0").register(workspace).version == 2
    assert Environment.get(workspace, "team-env").build_spec()["pip"] == ["six==1.15.0"]
    assert Environment.get(workspace, "team-env", version=1).build_spec()["pip"] == \
        ["six==1.16.0"]
    assert list(Environment.list(workspace)) == ["team-env"]
    assert workspace.environments["team-env"].version == 2
    with pytest.raises(ValidationError, match="registered: team-env"):
        Environment.get(workspace, "other")


# -- building for real -------------------------------------------------------------------
@pytest.mark.slow
def test_a_built_environment_runs_the_script_and_the_second_run_is_a_cache_hit(
        experiment: Experiment, source: Callable[..., Path], cache: EnvironmentCache,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = source(USES_SIX)
    env = _env("six-env", "six==1.16.0")
    first = experiment.submit(ScriptRunConfig(folder, "train.py", environment=env))
    assert first.wait_for_completion()["status"] == "Completed"
    # metrics from inside the built environment reach the store, and runyard's heavy
    # dependencies are not there
    assert first.get_metrics() == {"six_version": "1.16.0", "has_sqlalchemy": 0.0}
    assert str(cache.root) in first.read_log("logs/driver_0.txt").decode()
    assert "logs/environment.txt" in first.get_file_names()
    second = experiment.submit(ScriptRunConfig(folder, "train.py", environment=env))
    capsys.readouterr()
    details = second.wait_for_completion(show_output=True)
    shown = capsys.readouterr().out
    # the build log is shown under Preparing, the script's lines under Running
    assert shown.index("[Preparing]") < shown.index("found in the cache") < \
        shown.index("[Queued]") < shown.index("[Running]") < shown.index("interpreter ")
    preparing = next(s for s in details["stages"] if s["status"] == "Preparing")
    assert preparing["durationSeconds"] < 1.0
    assert "found in the cache" in second.read_log("logs/environment.txt").decode()
    assert [e["hash"] for e in cache.entries()] == [env.spec_hash()]


@pytest.mark.slow
def test_two_runs_asking_for_a_new_environment_at_once_build_it_once(
        experiment: Experiment, source: Callable[..., Path], cache: EnvironmentCache) -> None:
    folder = source(USES_SIX)
    env = _env("shared", "six==1.16.0", "packaging==24.1")
    runs = [experiment.submit(ScriptRunConfig(folder, "train.py", environment=env))
            for _ in range(2)]
    for run in runs:
        assert run.wait_for_completion()["status"] == "Completed"
    logs = [run.read_log("logs/environment.txt").decode() for run in runs]
    assert sum("building environment" in log for log in logs) == 1
    assert sum("found in the cache" in log or "waiting" in log for log in logs) == 1
    assert len(cache.entries()) == 1


def test_who_waits_for_a_build_does_not_wait_for_the_builders_run_to_end(
        cache: EnvironmentCache, tmp_path: Path) -> None:
    """Two nodes of one run on one machine share the cache: the second asks while the
    first builds, waits for the build, then uses the environment while the first still
    holds it (before, it waited for the first's release: the run never started)."""
    spec = _env("two-nodes").build_spec()
    got: dict[str, PreparedEnvironment] = {}

    def prepare(name: str) -> None:
        with open(tmp_path / f"{name}.txt", "w") as log:
            got[name] = cache.prepare(spec, log)

    first = threading.Thread(target=prepare, args=("first",), daemon=True)
    first.start()
    first_log = tmp_path / "first.txt"
    wait_for(lambda: first_log.exists() and "building environment" in first_log.read_text())
    second = threading.Thread(target=prepare, args=("second",), daemon=True)
    second.start()
    first.join(120)
    second.join(30)
    try:
        assert "first" in got
        assert not second.is_alive(), "the second waited for the first's release"
        assert "being built by another run" in (tmp_path / "second.txt").read_text()
        assert not got["first"].cache_hit
        assert got["second"].cache_hit
    finally:
        for prepared in got.values():
            prepared.release()


@pytest.mark.slow
@pytest.mark.parametrize(("packages", "python", "message"), [
    (["runyard-no-such-package-zz==1.0"], None, "not found in the package registry"),
    (["six>1.16,<1.15"], None, "No solution found"),  # one pin per package: v1 replaces
    (["six"], "3.99", "No interpreter found for Python 3.99"),
])
def test_a_build_that_fails_fails_the_run_at_preparing_with_the_installers_message(
        experiment: Experiment, source: Callable[..., Path], cache: EnvironmentCache,
        packages: list[str], python: str | None, message: str) -> None:
    env = _env("broken", *packages, python=python)
    run = experiment.submit(ScriptRunConfig(source("print('never')"), "train.py",
                                            environment=env))
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert [s["status"] for s in details["stages"]][-2:] == ["Preparing", "Failed"]
    error = details["error"]["error"]["message"]
    assert "environment build failed" in error
    assert message in error
    # nothing half-built left in the cache
    assert [p.name for p in cache.root.iterdir() if not p.name.startswith(".locks")] in (
        [], [".runtime"])


def test_a_failed_build_leaves_nothing_and_raises_the_tools_words(
        cache: EnvironmentCache) -> None:
    spec = _env("x", "runyard-no-such-package-zz==1.0").build_spec()
    log_path = cache.root / "log.txt"
    cache.root.mkdir(parents=True)
    with open(log_path, "w") as log, pytest.raises(EnvironmentBuildError,
                                                   match="not found in the package registry"):
        cache.prepare(spec, log)
    assert sorted(p.name for p in cache.root.iterdir()) == [".locks", "log.txt"]


def test_prune_removes_unused_environments_but_never_one_in_use(
        cache: EnvironmentCache, build_log: IO[str]) -> None:
    log = build_log
    held = cache.prepare(_env("held", "six==1.16.0").build_spec(), log)
    idle = cache.prepare(_env("idle", "six==1.15.0").build_spec(), log)
    idle.release()
    old = time.time() - 40 * 86400
    for prepared in (held, idle):
        os.utime(prepared.path / ".runyard-env.json", (old, old))
    stale = cache.root / f".tmp-{'0' * 64}-1"
    stale.mkdir()
    assert cache.prune(unused_days=30) == [idle.hash]
    assert [e["hash"] for e in cache.entries()] == [held.hash]
    assert cache.entries()[0]["in_use"]
    assert not stale.exists()
    held.release()
    assert cache.prune(unused_days=30) == [held.hash]


def test_two_environments_with_the_same_package_share_its_files(
        cache: EnvironmentCache, build_log: IO[str]) -> None:
    from runyard.environment._cache import disk_usage

    log = build_log
    one = cache.prepare(_env("one", "packaging==24.1").build_spec(), log)
    two = cache.prepare(_env("two", "packaging==24.1", "six==1.16.0").build_spec(), log)
    each = disk_usage([one.path]) + disk_usage([two.path])
    together = disk_usage([one.path, two.path])
    shared = disk_usage([one.path / "lib"])
    assert together < each - shared / 2  # packaging's files are stored once
    one.release()
    two.release()


def test_a_waiting_build_is_said_in_the_log(cache: EnvironmentCache,
                                            build_log: IO[str]) -> None:
    spec = _env("w", "six==1.16.0").build_spec()
    from runyard.environment._definition import spec_hash

    lock = cache._lock_file(spec_hash(spec))
    fcntl.flock(lock, fcntl.LOCK_EX)  # as if another run were building it
    said: list[str] = []
    log = build_log
    waiter = threading.Thread(target=lambda: cache.prepare(spec, log, on_wait=said.append))
    waiter.start()
    deadline = time.monotonic() + 10
    while not said and time.monotonic() < deadline:
        time.sleep(0.02)
    os.close(lock)
    waiter.join(60)
    assert said
    assert "being built by another run" in said[0]


@pytest.mark.slow
def test_a_run_waiting_for_its_environment_can_be_canceled(
        experiment: Experiment, source: Callable[..., Path], cache: EnvironmentCache) -> None:
    from runyard.environment._definition import spec_hash

    env = _env("slow-build", "six==1.16.0")
    lock = cache._lock_file(spec_hash(env.build_spec()))
    fcntl.flock(lock, fcntl.LOCK_EX)  # another build of it never ends
    try:
        run = experiment.submit(ScriptRunConfig(source("print('never')"), "train.py",
                                                environment=env))
        deadline = time.monotonic() + 30
        while "being built by another run" not in run.read_log(
                "logs/environment.txt").decode():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert run.get_status() == "Preparing"
        asked = time.monotonic()
        run.cancel()
        details = run.wait_for_completion(raise_on_error=False, timeout_seconds=10)
        assert time.monotonic() - asked < 10
        assert details["status"] == "Canceled"
    finally:
        os.close(lock)


def _has_python(version: str) -> bool:
    from runyard.environment._builders import find_python

    return find_python(version) != version


@pytest.mark.slow
@pytest.mark.skipif(not _has_python("3.12"), reason="no Python 3.12 on this machine")
def test_the_runtime_works_in_an_environment_of_another_python(
        experiment: Experiment, source: Callable[..., Path], cache: EnvironmentCache) -> None:
    folder = source("""
        import sys
        from runyard import Run
        Run.get_context().log("minor", sys.version_info.minor)
    """)
    env = _env("py312", "six==1.16.0", python="3.12")
    run = experiment.submit(ScriptRunConfig(folder, "train.py", environment=env))
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics() == {"minor": 12.0}
