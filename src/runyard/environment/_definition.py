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
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._validation import checked_name
from runyard.environment._docker import DockerSection, warn_docker_ignored
from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

SPEC_FORMAT = 1
_PYTHON_VERSION = re.compile(r"\d+(\.\d+){0,2}")
_PIP_OPTIONS = ("--index-url", "--extra-index-url", "--find-links")
CONDA_TOOLS = ("micromamba", "mamba", "conda")
DEFINITION_FILE, CONDA_FILE, DOCKERFILE = ("azureml_environment.json", "conda_dependencies.yml",
                                           "BaseDockerfile")


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


class EnvironmentFallbackWarning(UserWarning):
    """What an environment asked for is built another way here: conda packages from PyPI
    (no conda on PATH), a curated Azure environment as runyard's pip spec."""


_CORE_TYPES = ("cpu", "gpu")


def _core_type(core_type: str) -> str:
    if not isinstance(core_type, str) or core_type.lower() not in _CORE_TYPES:
        raise ValidationError(f"core_type {core_type!r} is not 'cpu' or 'gpu'",
                              core_type=core_type)
    return core_type.lower()


def _pip_name(requirement: str) -> str:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return canonicalize_name(Requirement(_requirement(requirement)).name)


class CondaDependencies:
    """Packages for an environment, v1's `CondaDependencies`: pip packages (built with
    uv), conda packages (built with conda, mamba or micromamba where one is on PATH, from
    PyPI otherwise: docs/migration.md), channels, pip options and the Python version.

    `CondaDependencies(conda_dependencies_file_path="env.yml")` reads a conda environment
    file; `serialize_to_string()` and `save()` write one.
    """

    def __init__(self, conda_dependencies_file_path: str | os.PathLike[str] | None = None,
                 _underlying_structure: Any = None) -> None:
        self._pip: list[str] = []
        self._conda: list[str] = []
        self._pip_options: list[str] = []
        self._channels: list[str] = []
        self.python_version: str | None = None
        self._name = "project_environment"
        if conda_dependencies_file_path is not None:
            from runyard.environment._conda import read_specification

            self._load(read_specification(conda_dependencies_file_path),
                       str(conda_dependencies_file_path))

    def _load(self, spec: dict[str, Any], source: str) -> None:
        try:
            self._name = spec.get("name") or self._name
            for channel in spec["channels"]:
                self.add_channel(channel)
            for package in spec["dependencies"]:
                self.add_conda_package(package)
            for line in spec["pip"]:
                if line.startswith("-"):
                    self.set_pip_option(line)
                else:
                    self.add_pip_package(line)
        except ValidationError as e:
            raise ValidationError(f"{source}: {e}", path=source) from e

    DEFAULT_NUMBER_OF_CONDA_PACKAGES = 0
    DEFAULT_NUMBER_OF_PIP_PACKAGES = 0

    @staticmethod
    def sdk_origin_url() -> str:
        """The package index: PyPI (runyard adds no azureml-* packages)."""
        return "https://pypi.python.org/simple"

    @staticmethod
    def merge_requirements(requirements: list[str]) -> list[str]:
        """One requirement per package, the specifiers of repeats joined (v1)."""
        from packaging.requirements import Requirement

        merged: dict[str, list[str]] = {}
        for text in requirements:
            requirement = Requirement(_requirement(text))
            spec = str(requirement.specifier)
            merged.setdefault(requirement.name, [])
            if spec:
                merged[requirement.name].append(spec)
        return [name + ",".join(specs) for name, specs in merged.items()]

    def get_default_number_of_packages(self) -> tuple[int, int]:
        """(conda, pip) packages a new CondaDependencies has: none here."""
        return self.DEFAULT_NUMBER_OF_CONDA_PACKAGES, self.DEFAULT_NUMBER_OF_PIP_PACKAGES

    def add_cntk_package(self, core_type: str = "cpu") -> None:  # noqa: ARG002 - v1's
        """CNTK has no wheels for Python 3.10 or newer, which runyard's runtime needs."""
        raise ValidationError("CNTK (add_cntk_package) has no wheels for Python 3.10 or "
                              "newer, which runyard's runtime needs; use PyTorch or "
                              "TensorFlow")

    @classmethod
    def create(cls, pip_indexes: list[str] | None = None,
               pip_packages: list[str] | None = None, conda_packages: list[str] | None = None,
               python_version: str | None = None, pin_sdk_version: bool = True,
               channels: list[str] | None = None,
               pip_indexurl: str | None = None) -> CondaDependencies:
        """v1's `create`; `python_version=None` means the Python runyard runs on (v1
        pinned its own default), and azureml-* packages are never added."""
        deps = cls()
        for package in pip_packages or []:
            deps.add_pip_package(package)
        for package in conda_packages or []:
            deps.add_conda_package(package)
        indexes = ([pip_indexurl] if pip_indexurl else []) + list(pip_indexes or [])
        for index, url in enumerate(indexes):
            deps.set_pip_option(f"{'--index-url' if index == 0 else '--extra-index-url'} {url}")
        for channel in channels or []:
            deps.add_channel(channel)
        if python_version is not None:
            deps.set_python_version(python_version)
        return deps

    # -- pip --------------------------------------------------------------------------------
    def add_pip_package(self, pip_package: str) -> None:
        """Add a requirement; one already there for the same package is replaced (v1)."""
        clean = _requirement(pip_package)
        name = _pip_name(clean)
        self._pip = [p for p in self._pip if _pip_name(p) != name] + [clean]

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove the requirement for this package, whatever its version."""
        name = _pip_name(pip_package)
        self._pip = [p for p in self._pip if _pip_name(p) != name]

    def set_pip_option(self, pip_option: str) -> None:
        clean = _pip_option(pip_option)
        if clean not in self._pip_options:
            self._pip_options.append(clean)

    def remove_pip_option(self, pip_option: str) -> None:
        clean = _pip_option(pip_option)
        self._pip_options = [o for o in self._pip_options if o != clean]

    def set_pip_index_url(self, index_url: str) -> None:
        self._pip_options = [o for o in self._pip_options if not o.startswith("--index-url")]
        self.set_pip_option(f"--index-url {index_url}")

    def set_pip_requirements(self, pip_requirements: list[str]) -> None:
        """Replace every pip requirement and option."""
        self._pip, self._pip_options = [], []
        for line in pip_requirements:
            self.set_pip_option(line) if line.startswith("-") else self.add_pip_package(line)

    def add_tensorflow_pip_package(self, core_type: str = "cpu",
                                   version: str | None = None) -> None:
        """TensorFlow from PyPI (`tensorflow[and-cuda]` for 'gpu'); with no version, the
        newest (v1 pinned 2.2.0, which has no wheel for Python 3.10 or newer)."""
        name = "tensorflow[and-cuda]" if _core_type(core_type) == "gpu" else "tensorflow"
        for package in ("tensorflow", "tensorflow-gpu", "tensorflow-cpu"):
            self.remove_pip_package(package)
        self.add_pip_package(name + (f"=={version}" if version else ""))

    # -- conda ------------------------------------------------------------------------------
    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda spec (`numpy=1.26`, `conda-forge::lightgbm`); `python=3.11` sets
        the Python version, as in v1."""
        if not isinstance(conda_package, str) or not conda_package.strip():
            raise ValidationError(f"conda package {conda_package!r} is empty")
        from runyard.environment._conda import conda_name

        package = conda_package.strip()
        if conda_name(package) == "python":
            version = package.split("::")[-1][len("python"):].lstrip("=<>~! ").split("=")[0]
            if version:
                self.set_python_version(version.rstrip(".*"))
            return
        if package not in self._conda:
            self._conda.append(package)

    def remove_conda_package(self, conda_package: str) -> None:
        from runyard.environment._conda import conda_name

        if conda_name(conda_package) == "python":
            raise ValidationError("python must not be removed from conda dependencies; "
                                  "set_python_version() changes it")
        self._conda = [p for p in self._conda
                       if p != conda_package.strip() and conda_name(p) != conda_package.strip()]

    def add_tensorflow_conda_package(self, core_type: str = "cpu",
                                     version: str | None = None) -> None:
        """TensorFlow as a conda package (from PyPI where no conda is on PATH)."""
        from runyard.environment._conda import conda_name

        name = "tensorflow-gpu" if _core_type(core_type) == "gpu" else "tensorflow"
        self._conda = [p for p in self._conda if not conda_name(p).startswith("tensorflow")]
        self.add_conda_package(name + (f"={version}" if version else ""))

    def add_channel(self, channel: str) -> None:
        if not isinstance(channel, str) or not channel.strip():
            raise ValidationError(f"conda channel {channel!r} is empty")
        if channel not in self._channels:
            self._channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        self._channels = [c for c in self._channels if c != channel]

    def set_python_version(self, version: str) -> None:
        if not isinstance(version, str) or not _PYTHON_VERSION.fullmatch(version):
            raise ValidationError(f"python_version {version!r} is not a version like '3.11'",
                                  version=version)
        self.python_version = version

    def get_python_version(self) -> str | None:
        return self.python_version

    @property
    def pip_packages(self) -> list[str]:
        return list(self._pip)

    @property
    def conda_packages(self) -> list[str]:
        return list(self._conda)

    @property
    def conda_channels(self) -> list[str]:
        return list(self._channels)

    @property
    def pip_options(self) -> list[str]:
        return list(self._pip_options)

    # -- the conda file ---------------------------------------------------------------------
    def serialize_to_string(self) -> str:
        """The conda environment file for these dependencies (YAML)."""
        from runyard.environment._conda import dump_specification

        return dump_specification(self._name, self._channels, self._conda,
                                  [*self._pip_options, *self._pip], self.python_version)

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the conda file to `path` (a file, in a folder that exists)."""
        if path is None or Path(path).is_dir():
            raise ValidationError(f"save() needs the path of a file to write, got {path!r}")
        target = Path(path)
        if not target.parent.is_dir():
            raise FileNotFoundError(f"cannot save {target}: folder {target.parent} does not "
                                    f"exist")
        import io

        from runyard.artifacts.local import copy_atomically

        copy_atomically(io.BytesIO(self.serialize_to_string().encode()), target)
        return target.as_posix()

    def save_to_file(self, base_directory: str | os.PathLike[str],
                     conda_file_path: str | None = None) -> str:
        """v1's older `save`: the file under `base_directory` (by default
        `.azureml/conda_dependencies.yml`); returns the path relative to it."""
        relative = conda_file_path or ".azureml/conda_dependencies.yml"
        target = Path(base_directory) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        self.save(target)
        return Path(relative).as_posix()

    def as_dict(self) -> dict[str, Any]:
        """The conda file as data, v1's shape."""
        dependencies: list[Any] = [f"python={self.python_version}"] if \
            self.python_version else []
        dependencies += self._conda
        if self._pip or self._pip_options:
            dependencies.append({"pip": [*self._pip_options, *self._pip]})
        return {"name": self._name, "channels": list(self._channels),
                "dependencies": dependencies}

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
