"""Environment builders: one small contract, chosen by name.

A builder turns a normalised spec into a finished environment in an empty folder it is
given (the cache renames the folder into place). `uv` builds virtual environments from
PyPI; `conda` builds where conda, mamba or micromamba is installed. A Docker builder fits
the same contract (`build(spec, folder, log)` producing `folder/bin/python` inside an
image) and is not here because no Docker engine runs on these machines.
"""

from __future__ import annotations

import abc
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, ClassVar

from runyard._registry import Registry
from runyard.errors import EnvironmentBuildError, ValidationError


class EnvironmentBuilder(abc.ABC):
    kind: ClassVar[str]

    @abc.abstractmethod
    def build(self, spec: dict[str, Any], folder: Path, log: IO[str]) -> None:
        """Make a complete environment in `folder` (which does not exist yet)."""


def _uv() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def _tool_environment() -> dict[str, str]:
    env = dict(os.environ)
    # no network but the package registries here: find Pythons on this machine only
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    env.setdefault("UV_LINK_MODE", "hardlink")  # two environments share the cache's files
    env.pop("VIRTUAL_ENV", None)
    return env


def _requirements_file(spec: dict[str, Any], folder: Path) -> Path:
    lines = [*spec["pip_options"], *spec["pip"]]
    path = folder / ".runyard-requirements.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _version_of(interpreter: Path) -> str | None:
    try:
        found = subprocess.run([str(interpreter), "-c",
                                "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                               capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() if found.returncode == 0 else None


def find_python(version: str) -> str:
    """An interpreter on this machine for `version` ("3.12" or "3.12.1"), as a path; else
    `version` itself, for uv to look (and to say what it did not find).

    uv's own search stops at the first `python3.12` on PATH, which under pyenv is a shim
    that fails unless that version is selected; installed pyenv versions are looked at
    directly, and shim folders skipped.
    """
    minor = ".".join(version.split(".")[:2])
    # the Python runyard runs on first, so a default environment matches it
    candidates = [Path(sys.base_prefix) / "bin" / f"python{minor}"]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and "shims" not in Path(folder).parts:
            candidates.append(Path(folder) / f"python{minor}")
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if pyenv.is_dir():
        candidates += sorted(pyenv.glob(f"{minor}*/bin/python{minor}"), reverse=True)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found = _version_of(candidate)
            if found and (found == version or found.startswith(version + ".")):
                return str(candidate)
    return version


class UvBuilder(EnvironmentBuilder):
    """A virtual environment made and filled by uv (hard links from uv's cache)."""

    kind = "uv"

    def build(self, spec: dict[str, Any], folder: Path, log: IO[str]) -> None:
        from runyard.environment._cache import run_logged

        uv = _uv()
        env = _tool_environment()
        run_logged([uv, "venv", "--relocatable", "--no-project", "--python",
                    find_python(spec["python"]), str(folder)], log, env, what="uv venv")
        if spec["pip"]:
            requirements = _requirements_file(spec, folder)
            run_logged([uv, "pip", "install", "--python", str(folder / "bin" / "python"),
                        "-r", str(requirements)], log, env, what="uv pip install")


class CondaBuilder(EnvironmentBuilder):
    """A conda environment (conda packages), then pip packages installed into it by uv."""

    kind = "conda"

    def build(self, spec: dict[str, Any], folder: Path, log: IO[str]) -> None:
        from runyard.environment._cache import run_logged
        from runyard.environment._definition import CONDA_TOOLS

        tool = next((found for name in CONDA_TOOLS if (found := shutil.which(name))), None)
        if tool is None:
            raise EnvironmentBuildError(f"no {', '.join(CONDA_TOOLS)} on PATH")
        channels = [arg for channel in spec["channels"] for arg in ("-c", channel)]
        run_logged([tool, "create", "--yes", "--prefix", str(folder), *channels,
                    f"python={spec['python']}", *spec["conda"]], log, what=f"{tool} create")
        if spec["pip"]:
            requirements = _requirements_file(spec, folder)
            run_logged([_uv(), "pip", "install", "--python", str(folder / "bin" / "python"),
                        "-r", str(requirements)], log, _tool_environment(),
                       what="uv pip install")


#: environment builders by name; plugins: the `runyard.environment_builders` entry points
BUILDERS: Registry[EnvironmentBuilder] = Registry(
    "runyard.environment_builders",
    {"uv": "runyard.environment._builders:UvBuilder",
     "conda": "runyard.environment._builders:CondaBuilder"},
    lambda kind, valid: ValidationError(
        f"no environment builder {kind!r} on this machine; builders: {', '.join(valid)}",
        kind=kind, valid=valid))


def builder_for(kind: str) -> EnvironmentBuilder:
    return BUILDERS.get(kind)()
