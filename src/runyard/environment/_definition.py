"""Environment definitions in azureml-core v1's shape, and their normalised build spec.

Invariants:
- Bad definitions fail at construction: invalid names, requirements that are not PEP 508,
  pip options runyard cannot pass on.
- `build_spec()` is the normalised, hashable description of what gets built (Python
  version, sorted canonical requirements, index options, builder); environment variables
  are not part of it, since they do not change what is installed.
- A definition with no packages (and not asking for Docker) is user-managed: the run uses
  the interpreter given, by default the one runyard runs in.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._validation import checked_name
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

SPEC_FORMAT = 1
_PYTHON_VERSION = re.compile(r"\d+(\.\d+){0,2}")
_PIP_OPTIONS = ("--index-url", "--extra-index-url", "--find-links")
CONDA_TOOLS = ("micromamba", "mamba", "conda")


def _requirement(text: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        requirement = Requirement(text)
    except InvalidRequirement as e:
        why = str(e).splitlines()[0]  # packaging adds the text and a caret on more lines
        raise ValidationError(f"pip package {text!r} is not a valid requirement: {why}",
                              requirement=text) from e
    requirement.name = canonicalize_name(requirement.name)
    return str(requirement)


def _pip_option(option: str) -> str:
    parts = option.split(None, 1)
    flag = parts[0].split("=", 1)[0]
    if flag not in _PIP_OPTIONS or (len(parts) < 2 and "=" not in parts[0]):
        raise ValidationError(
            f"pip option {option!r} is not supported; runyard passes on "
            f"{', '.join(_PIP_OPTIONS)} followed by a URL", option=option)
    return " ".join(option.replace("=", " ", 1).split()) if "=" in parts[0] else \
        f"{flag} {parts[1].strip()}"


class CondaDependencies:
    """Packages for an environment: pip packages (built with uv) and conda packages
    (built only where conda, mamba or micromamba is installed)."""

    def __init__(self) -> None:
        self._pip: list[str] = []
        self._conda: list[str] = []
        self._pip_options: list[str] = []
        self._channels: list[str] = []
        self.python_version: str | None = None

    @classmethod
    def create(cls, pip_indexes: list[str] | None = None,
               pip_packages: list[str] | None = None, conda_packages: list[str] | None = None,
               python_version: str | None = None, pin_sdk_version: bool = True,
               channels: list[str] | None = None) -> CondaDependencies:
        deps = cls()
        for package in pip_packages or []:
            deps.add_pip_package(package)
        for package in conda_packages or []:
            deps.add_conda_package(package)
        for index, url in enumerate(pip_indexes or []):
            deps.set_pip_option(f"{'--index-url' if index == 0 else '--extra-index-url'} {url}")
        for channel in channels or []:
            deps.add_channel(channel)
        if python_version is not None:
            deps.set_python_version(python_version)
        return deps

    def add_pip_package(self, pip_package: str) -> None:
        clean = _requirement(pip_package)
        if clean not in self._pip:
            self._pip.append(clean)

    def add_conda_package(self, conda_package: str) -> None:
        if not isinstance(conda_package, str) or not conda_package.strip():
            raise ValidationError(f"conda package {conda_package!r} is empty")
        if conda_package.strip() not in self._conda:
            self._conda.append(conda_package.strip())

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    def set_pip_option(self, pip_option: str) -> None:
        clean = _pip_option(pip_option)
        if clean not in self._pip_options:
            self._pip_options.append(clean)

    def set_python_version(self, version: str) -> None:
        if not isinstance(version, str) or not _PYTHON_VERSION.fullmatch(version):
            raise ValidationError(f"python_version {version!r} is not a version like '3.11'",
                                  version=version)
        self.python_version = version

    @property
    def pip_packages(self) -> list[str]:
        return list(self._pip)

    @property
    def conda_packages(self) -> list[str]:
        return list(self._conda)

    @property
    def pip_options(self) -> list[str]:
        return list(self._pip_options)

    def to_dict(self) -> dict[str, Any]:
        return {"pip_packages": self._pip, "conda_packages": self._conda,
                "pip_options": self._pip_options, "channels": self._channels,
                "python_version": self.python_version}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CondaDependencies:
        deps = cls.create(pip_packages=data.get("pip_packages"),
                          conda_packages=data.get("conda_packages"),
                          channels=data.get("channels"),
                          python_version=data.get("python_version"))
        for option in data.get("pip_options", []):
            deps.set_pip_option(option)
        return deps


class PythonSection:
    """`env.python`: which interpreter, and which packages."""

    def __init__(self) -> None:
        self.user_managed_dependencies: bool | None = None
        self.interpreter_path: str | None = None
        self.conda_dependencies = CondaDependencies()


class DockerSection:
    """`env.docker`: accepted for v1 compatibility; no Docker engine runs here (see docs)."""

    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = None
        self.base_dockerfile: str | None = None


class Environment:
    """A Python environment for runs: packages built with uv, cached by content.

    Example:
        >>> env = Environment("sklearn")
        >>> env.python.conda_dependencies = CondaDependencies.create(
        ...     pip_packages=["scikit-learn==1.5.2"], python_version="3.11")
        >>> config = ScriptRunConfig(".", "train.py", environment=env)  # doctest: +SKIP
    """

    def __init__(self, name: str) -> None:
        self.name = checked_name(name, what="environment name", allowed="._-")
        self.version: int | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"

    @classmethod
    def from_pip_requirements(cls, name: str, file_path: str | Path,
                              pip_version: str | None = None) -> Environment:
        """An environment from a requirements file (requirements and index options)."""
        env = cls(name)
        path = Path(file_path)
        if not path.is_file():
            raise FileNotFoundError(f"requirements file {file_path} not found")
        deps = env.python.conda_dependencies
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValidationError(f"requirements file {file_path} is not UTF-8 text "
                                  f"({e.reason} at byte {e.start})", path=str(path)) from e
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            try:
                if line.startswith("-"):
                    deps.set_pip_option(line)
                else:
                    deps.add_pip_package(line)
            except ValidationError as e:
                raise ValidationError(f"{path}:{number}: {e}", path=str(path),
                                      line=number) from e
        if pip_version:
            deps.add_pip_package(f"pip=={pip_version}")
        return env

    # -- what gets built ------------------------------------------------------------------
    @property
    def user_managed(self) -> bool:
        """True when the run uses an interpreter as it is (no packages to install)."""
        if self.python.user_managed_dependencies is not None:
            return self.python.user_managed_dependencies
        deps = self.python.conda_dependencies
        return not deps.pip_packages and not deps.conda_packages and not self.docker.enabled

    def builder_kind(self) -> str:
        if self.docker.enabled or self.docker.base_image or self.docker.base_dockerfile:
            return "docker"
        return "conda" if self.python.conda_dependencies.conda_packages else "uv"

    def build_spec(self) -> dict[str, Any]:
        deps = self.python.conda_dependencies
        python = deps.python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
        return {
            "format": SPEC_FORMAT, "builder": self.builder_kind(), "python": python,
            "pip": sorted(deps.pip_packages), "conda": sorted(deps.conda_packages),
            "channels": list(deps.to_dict()["channels"]),
            "pip_options": list(deps.pip_options),
        }

    def spec_hash(self) -> str:
        return spec_hash(self.build_spec())

    def check_buildable(self) -> None:
        """Raise now (at submit) what a build here could never do."""
        if self.user_managed:
            path = self.python.interpreter_path
            if path is not None and not Path(path).is_file():
                raise ValidationError(f"environment {self.name!r}: interpreter_path {path} "
                                      f"does not exist", path=path)
            return
        kind = self.builder_kind()
        python = self.build_spec()["python"]
        if tuple(int(part) for part in python.split(".")[:2]) < (3, 10):
            raise ValidationError(
                f"environment {self.name!r} asks for Python {python}; runyard's runtime "
                f"(Run.get_context) needs Python 3.10 or newer", name=self.name)
        if kind == "docker":
            raise ValidationError(
                f"environment {self.name!r} asks for a Docker image, and no Docker engine "
                f"runs on this machine; list the packages in "
                f"python.conda_dependencies (pip_packages) instead", name=self.name)
        if kind == "conda" and not any(shutil.which(tool) for tool in CONDA_TOOLS):
            packages = ", ".join(self.python.conda_dependencies.conda_packages)
            raise ValidationError(
                f"environment {self.name!r} has conda packages ({packages}), and none of "
                f"{', '.join(CONDA_TOOLS)} is on PATH; install one, or move the packages "
                f"to pip_packages (most have the same name on PyPI)", name=self.name)

    # -- serialised form and registry -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version,
            "python": {"user_managed_dependencies": self.python.user_managed_dependencies,
                       "interpreter_path": self.python.interpreter_path,
                       "conda_dependencies": self.python.conda_dependencies.to_dict()},
            "docker": {"enabled": self.docker.enabled, "base_image": self.docker.base_image},
            "environment_variables": dict(self.environment_variables),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        env = cls(data["name"])
        env.version = data.get("version")
        python = data.get("python", {})
        env.python.user_managed_dependencies = python.get("user_managed_dependencies")
        env.python.interpreter_path = python.get("interpreter_path")
        env.python.conda_dependencies = CondaDependencies.from_dict(
            python.get("conda_dependencies", {}))
        docker = data.get("docker", {})
        env.docker.enabled = bool(docker.get("enabled"))
        env.docker.base_image = docker.get("base_image")
        env.environment_variables = dict(data.get("environment_variables", {}))
        return env

    def register(self, workspace: Workspace) -> Environment:
        """Store this definition; a changed definition gets the next version."""
        definition = {**self.to_dict(), "version": None}
        self.version = workspace.store.register_environment(self.name, definition,
                                                            self.spec_hash())
        return self

    @classmethod
    def get(cls, workspace: Workspace, name: str, version: int | None = None) -> Environment:
        row = workspace.store.get_environment(name, version)
        if row is None:
            known = sorted({r["name"] for r in workspace.store.list_environments()})
            what = f"version {version} of environment {name!r}" if version else \
                f"environment {name!r}"
            raise ValidationError(f"no {what} in this workspace; registered: "
                                  f"{', '.join(known) or 'none'}", name=name)
        env = cls.from_dict({**row["definition"], "version": row["version"]})
        return env

    @classmethod
    def list(cls, workspace: Workspace) -> dict[str, Environment]:
        latest: dict[str, Environment] = {}
        for row in workspace.store.list_environments():
            latest[row["name"]] = cls.from_dict({**row["definition"], "version": row["version"]})
        return latest


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
