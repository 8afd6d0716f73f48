"""CondaDependencies in azureml-core v1's shape: pip packages, conda packages, channels,
pip options and the Python version of an environment, with v1's methods.

Invariants:
- Requirements are PEP 508 and kept canonical; one requirement per package (adding the
  same package again replaces it, as in v1).
- Only the pip options runyard can pass on are taken (`--index-url`, `--extra-index-url`,
  `--find-links`); anything else is refused when it is set.
- The conda file read and written is v1's (runyard.environment._conda).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from runyard.errors import ValidationError

_PYTHON_VERSION = re.compile(r"\d+(\.\d+){0,2}")
_PIP_OPTIONS = ("--index-url", "--extra-index-url", "--find-links")


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
               python_version: str | None = None,
               pin_sdk_version: bool = True,  # noqa: ARG003 - v1's: no azureml-* pins here
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
