"""Environment definitions in azureml-core v1's shape, and their normalised build spec.

Invariants:
- Bad definitions fail at construction: invalid names, requirements that are not PEP 508,
  pip options runyard cannot pass on.
- `build_spec()` is the normalised, hashable description of what gets built (Python
  version, sorted canonical requirements, index options, builder); environment variables
  are not part of it, since they do not change what is installed.
- A definition with no packages is user-managed: the run uses the interpreter given, by
  default the one runyard runs in. Docker settings never change what is built (they are
  kept and warned about at submit, runyard.environment._docker).
- Conda packages are built with a conda tool where one is on PATH, from PyPI otherwise
  (runyard.environment._conda); `check_buildable()` says which in one warning line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._v1 import v1_members
from runyard._validation import checked_name
from runyard.environment._dependencies import (
    CondaDependencies,
    EnvironmentFallbackWarning,
    _pip_name,
    _requirement,
)
from runyard.environment._docker import DockerSection, warn_docker_ignored
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

SPEC_FORMAT = 1
CONDA_TOOLS = ("micromamba", "mamba", "conda")
DEFINITION_FILE, CONDA_FILE, DOCKERFILE = ("azureml_environment.json", "conda_dependencies.yml",
                                           "BaseDockerfile")


class PythonSection:
    """`env.python`: which interpreter, and which packages."""

    def __init__(self) -> None:
        self.user_managed_dependencies: bool | None = None
        self.interpreter_path: str | None = None
        self.conda_dependencies = CondaDependencies()
        self._conda_dependencies_file: str | None = None

    @property
    def conda_dependencies_file(self) -> str | None:
        """v1's deprecated path of a conda file: setting it reads the file into
        `conda_dependencies` now (v1 read it at submit, relative to the source folder)."""
        return self._conda_dependencies_file

    @conda_dependencies_file.setter
    def conda_dependencies_file(self, value: str | os.PathLike[str] | None) -> None:
        if value:
            self.conda_dependencies = CondaDependencies(conda_dependencies_file_path=value)
            self._conda_dependencies_file = os.fspath(value)
        else:
            self._conda_dependencies_file = None


@v1_members("azureml.core.environment.Environment")
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
    def from_pip_requirements(cls, name: str, file_path: str | os.PathLike[str],
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

    @classmethod
    def from_conda_specification(cls, name: str, file_path: str | os.PathLike[str]) -> Environment:
        """An environment from a conda environment file (channels, conda packages, a
        `pip:` list; conda packages come from PyPI where no conda is on PATH)."""
        env = cls(name)
        env.python.conda_dependencies = CondaDependencies(conda_dependencies_file_path=file_path)
        return env

    @classmethod
    def from_existing_conda_environment(cls, name: str,
                                        conda_environment_name: str) -> Environment:
        """An environment with the packages of a conda environment on this machine
        (`conda env export`); needs conda, mamba or micromamba on PATH."""
        tool = conda_tool()
        if tool is None:
            raise ValidationError(
                f"from_existing_conda_environment({conda_environment_name!r}) reads the "
                f"environment with conda, and none of {', '.join(CONDA_TOOLS)} is on PATH; "
                f"run `pip freeze > requirements.txt` in that environment and use "
                f"Environment.from_pip_requirements({name!r}, 'requirements.txt')",
                name=conda_environment_name)
        import subprocess

        found = subprocess.run([tool, "env", "export", "--no-builds", "-n",
                                conda_environment_name], capture_output=True, text=True,
                               timeout=120, check=False)
        if found.returncode != 0:
            raise ValidationError(f"{Path(tool).name} env export -n {conda_environment_name} "
                                  f"failed: {found.stderr.strip()[-500:]}",
                                  name=conda_environment_name)
        from runyard.environment._conda import parse_specification

        env = cls(name)
        deps = CondaDependencies()
        deps._load(parse_specification(found.stdout, f"conda environment "
                                       f"{conda_environment_name}"), conda_environment_name)
        env.python.conda_dependencies = deps
        return env

    @classmethod
    def from_docker_image(cls, name: str, image: str, container_registry: Any = None,
                          conda_specification: str | os.PathLike[str] | None = None,
                          pip_requirements: str | os.PathLike[str] | None = None) -> Environment:
        """v1's Docker-image environment: the image is kept and ignored (warned at
        submit); the packages of `conda_specification` / `pip_requirements` are built."""
        env = cls._from_files(name, conda_specification, pip_requirements)
        env.docker.base_image = image
        if container_registry is not None:
            env.docker.base_image_registry = container_registry
        return env

    @classmethod
    def from_dockerfile(cls, name: str, dockerfile: str,
                        conda_specification: str | os.PathLike[str] | None = None,
                        pip_requirements: str | os.PathLike[str] | None = None) -> Environment:
        """v1's Dockerfile environment: the Dockerfile (its text or path) is kept and
        ignored (warned at submit); the packages of the files given are built."""
        env = cls._from_files(name, conda_specification, pip_requirements)
        path = Path(dockerfile)
        env.docker.base_dockerfile = path.read_text() if "\n" not in dockerfile and \
            path.is_file() else dockerfile
        return env

    @classmethod
    def _from_files(cls, name: str, conda_specification: str | os.PathLike[str] | None,
                    pip_requirements: str | os.PathLike[str] | None) -> Environment:
        env = cls.from_conda_specification(name, conda_specification) if \
            conda_specification is not None else cls(name)
        if pip_requirements is not None:
            extra = cls.from_pip_requirements(name, pip_requirements).python.conda_dependencies
            for package in extra.pip_packages:
                env.python.conda_dependencies.add_pip_package(package)
            for option in extra.pip_options:
                env.python.conda_dependencies.set_pip_option(option)
        return env

    def build(self, workspace: Workspace,  # noqa: ARG002 - v1's signature
              image_build_compute: str | None = None) -> Any:  # noqa: ARG002
        """Build the environment now into this machine's cache (v1 built a Docker image
        in the cloud); returns an object with `status`, `get_log()` and
        `wait_for_completion(show_output=True)`."""
        from runyard.environment._build import build_now

        return build_now(self)

    def build_local(self, workspace: Workspace,  # noqa: ARG002 - v1's signature
                    platform: str | None = None, **kwargs: Any) -> Any:  # noqa: ARG002
        """Build the environment now into this machine's cache, showing the build."""
        from runyard.environment._build import build_now

        return build_now(self, show_output=True)

    def save_to_directory(self, path: str | os.PathLike[str], overwrite: bool = False) -> None:
        """Write the definition as v1 does: `azureml_environment.json`, the conda file
        `conda_dependencies.yml` and, if there is one, `BaseDockerfile`."""
        folder = Path(path)
        names = [DEFINITION_FILE, CONDA_FILE, DOCKERFILE]
        if not overwrite and any((folder / n).exists() for n in names):
            from runyard.errors import FileExistsNoOverwriteError

            raise FileExistsNoOverwriteError(f"{folder} already holds an environment; pass "
                                             f"overwrite=True to replace it", path=str(folder))
        folder.mkdir(parents=True, exist_ok=True)
        import io

        from runyard.artifacts.local import copy_atomically

        definition = self.to_dict()
        del definition["python"]["conda_dependencies"]
        dockerfile = definition["docker"].pop("base_dockerfile", None)
        copy_atomically(io.BytesIO(json.dumps(definition, indent=4).encode()),
                        folder / DEFINITION_FILE)
        self.python.conda_dependencies.save(folder / CONDA_FILE)
        if dockerfile:
            copy_atomically(io.BytesIO(dockerfile.encode()), folder / DOCKERFILE)
        else:
            (folder / DOCKERFILE).unlink(missing_ok=True)

    @staticmethod
    def load_from_directory(path: str | os.PathLike[str]) -> Environment:
        """Read what `save_to_directory` wrote."""
        folder = Path(path)
        if not (folder / DEFINITION_FILE).is_file():
            raise FileNotFoundError(f"{folder / DEFINITION_FILE} not found")
        data = json.loads((folder / DEFINITION_FILE).read_text(encoding="utf-8"))
        env = Environment.from_dict(data)
        if (folder / CONDA_FILE).is_file():
            env.python.conda_dependencies = CondaDependencies(folder / CONDA_FILE)
        if (folder / DOCKERFILE).is_file():
            env.docker.base_dockerfile = (folder / DOCKERFILE).read_text(encoding="utf-8")
        return env

    @staticmethod
    def add_private_pip_wheel(workspace: Workspace, file_path: str | os.PathLike[str],
                              exist_ok: bool = False) -> str:
        """Keep a wheel in the workspace (its default datastore, `private_wheels/`) and
        return the requirement that installs it (`name @ file:///...`), for
        `add_pip_package`."""
        wheel = Path(file_path)
        if not wheel.is_file() or wheel.suffix != ".whl":
            raise ValidationError(f"add_private_pip_wheel needs a .whl file, got {file_path}",
                                  path=str(file_path))
        store = workspace.get_default_datastore()
        root = store.backend.local_root
        if root is None:
            raise ValidationError("the default datastore is not on this machine; give the "
                                  "wheel's path or URL to add_pip_package directly")
        target = root / "private_wheels" / wheel.name
        if target.exists() and not exist_ok:
            from runyard.errors import FileExistsNoOverwriteError

            raise FileExistsNoOverwriteError(f"wheel {wheel.name} is in the workspace "
                                             f"already; pass exist_ok=True to reuse it",
                                             path=str(target))
        if not target.exists():
            store.upload_files([str(wheel)], target_path="private_wheels", overwrite=True,
                               show_progress=False)
        return f"{wheel.name.split('-')[0]} @ {target.as_uri()}"

    def clone(self, new_name: str) -> Environment:
        """A copy under another name (not registered)."""
        return Environment.from_dict({**self.to_dict(), "name": new_name, "version": None})

    # -- what gets built ------------------------------------------------------------------
    @property
    def user_managed(self) -> bool:
        """True when the run uses an interpreter as it is (no packages to install)."""
        if self.python.user_managed_dependencies is not None:
            return self.python.user_managed_dependencies
        deps = self.python.conda_dependencies
        return not deps.pip_packages and not deps.conda_packages

    def builder_kind(self) -> str:
        """"conda" where there are conda packages and a conda tool on PATH, else "uv"
        (conda packages then come from PyPI; Docker settings never choose a builder)."""
        if self.python.conda_dependencies.conda_packages and conda_tool() is not None:
            return "conda"
        return "uv"

    def _packages(self) -> tuple[list[str], list[str], list[str], str | None]:
        """(pip, conda, channels, the fallback's warning line or None)."""
        deps = self.python.conda_dependencies
        pip, conda = deps.pip_packages, deps.conda_packages
        if conda and self.builder_kind() == "uv":
            from runyard.environment._conda import pypi_fallback

            mapped, line = pypi_fallback(conda)
            names = {_pip_name(p) for p in pip}  # a pip pin beats the conda package
            pip += [r for r in (_requirement(m) for m in mapped) if _pip_name(r) not in names]
            return sorted(set(pip)), [], [], line
        return sorted(pip), sorted(conda), deps.conda_channels, None

    def build_spec(self) -> dict[str, Any]:
        deps = self.python.conda_dependencies
        python = deps.python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
        pip, conda, channels, _line = self._packages()
        return {
            "format": SPEC_FORMAT, "builder": self.builder_kind(), "python": python,
            "pip": pip, "conda": conda, "channels": channels,
            "pip_options": list(deps.pip_options),
        }

    def spec_hash(self) -> str:
        return spec_hash(self.build_spec())

    def check_buildable(self) -> None:
        """Raise now (at submit) what a build here could never do; warn, in one line each,
        about Docker settings (ignored) and conda packages taken from PyPI."""
        warn_docker_ignored(f"environment {self.name!r}: env.docker",
                            self.docker.settings(), stacklevel=4)
        if self.user_managed:
            path = self.python.interpreter_path
            if path is not None and not Path(path).is_file():
                raise ValidationError(f"environment {self.name!r}: interpreter_path {path} "
                                      f"does not exist", path=path)
            return
        python = self.build_spec()["python"]
        if tuple(int(part) for part in python.split(".")[:2]) < (3, 10):
            raise ValidationError(
                f"environment {self.name!r} asks for Python {python}; runyard's runtime "
                f"(Run.get_context) needs Python 3.10 or newer", name=self.name)
        line = self._packages()[3]
        if line is not None:
            import warnings

            warnings.warn(f"environment {self.name!r}: {line}", EnvironmentFallbackWarning,
                          stacklevel=4)

    # -- serialised form and registry -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version,
            "python": {"user_managed_dependencies": self.python.user_managed_dependencies,
                       "interpreter_path": self.python.interpreter_path,
                       "conda_dependencies": self.python.conda_dependencies.to_dict()},
            "docker": self.docker.to_dict(),
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
        env.docker.load(data.get("docker", {}))
        env.environment_variables = dict(data.get("environment_variables", {}))
        return env

    def register(self, workspace: Workspace) -> Environment:
        """Store this definition; a changed definition gets the next version."""
        definition = {**self.to_dict(), "version": None}
        self.version = workspace.store.register_environment(self.name, definition,
                                                            self.spec_hash())
        return self

    @classmethod
    def get(cls, workspace: Workspace, name: str, version: int | None = None,
            label: str | None = None) -> Environment:
        """A registered environment (the latest version unless `version`); an Azure
        curated name ("AzureML-Minimal", "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu", ...)
        that is not registered here is runyard's pip spec for it, with a warning."""
        if label is not None:
            raise ValidationError(f"environment labels are not kept by runyard; ask for "
                                  f"{name!r} by version instead", name=name, label=label)
        row = workspace.store.get_environment(name, version)
        if row is None and version is None:
            from runyard.environment._curated import curated

            found = curated(name)
            if found is not None:
                return found
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


def conda_tool() -> str | None:
    """The first of micromamba, mamba, conda on PATH, as a path."""
    return next((found for name in CONDA_TOOLS if (found := shutil.which(name))), None)


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
