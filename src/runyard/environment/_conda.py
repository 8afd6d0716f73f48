"""Conda specifications: the YAML file v1 reads and writes, and the PyPI fallback.

Where no conda, mamba or micromamba is on PATH, an environment's conda packages are
installed from PyPI by uv instead (`pypi_fallback`), with one warning line saying what
became what:

- most packages have the same name on PyPI and keep it; the few that differ are in
  `PYPI_NAMES` (`pytorch` → `torch`, `py-xgboost` → `xgboost`, ...);
- a `channel::` prefix is dropped (PyPI has no channels);
- conda's version syntax becomes PEP 440: `numpy=1.26` (conda's prefix match) →
  `numpy==1.26.*`, `numpy 1.26.4 py311h_0` → `numpy==1.26.4.*`, `>=1.2,<2` stays;
- packages that PyPI wheels already carry inside them (`cudatoolkit`, `cudnn`, `mkl`,
  `pip`, ...) are dropped, named in the warning (`DROPPED`);
- packages with no PyPI counterpart (`openmpi`, `r-base`, compilers, ...) are refused by
  name at submit (`CONDA_ONLY`): installing something else silently would be worse.

The YAML subset read here is what conda environment files use: `name`, `channels`,
`dependencies` (strings, and one `- pip:` list), `prefix`, `variables`, block or `[a, b]`
lists, comments and quotes. Anything else is refused naming the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from runyard.errors import ValidationError

PYPI_NAMES = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "py-catboost": "catboost",
    "tensorflow-gpu": "tensorflow[and-cuda]",
    "tensorflow-base": "tensorflow",
    "matplotlib-base": "matplotlib",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "pytables": "tables",
    "msgpack-python": "msgpack",
    "python-graphviz": "graphviz",
    "ruamel_yaml": "ruamel.yaml",
    "pyqt": "PyQt5",
    "tensorboardx": "tensorboardX",
}
"""Conda names whose PyPI package is called something else."""

DROPPED = frozenset({
    "pip", "setuptools", "wheel", "cudatoolkit", "cuda-toolkit", "cudnn", "nccl", "mkl",
    "mkl-service", "mkl_fft", "mkl_random", "intel-openmp", "blas", "libblas", "openblas",
    "libopenblas", "libgcc-ng", "libstdcxx-ng", "libgomp", "_libgcc_mutex", "ca-certificates",
    "openssl", "certifi", "cpuonly",
})
"""Runtime libraries the PyPI wheels bundle (or uv provides): nothing to install."""

CONDA_ONLY = frozenset({
    "openmpi", "mpich", "impi_rt", "r-base", "r-essentials", "gcc", "gxx", "gcc_linux-64",
    "gxx_linux-64", "gfortran", "cuda-nvcc", "cuda", "ffmpeg", "git", "nodejs", "graphviz",
    "hdf5", "libgdal", "gdal", "proj", "geos", "java-jdk", "openjdk", "unixodbc", "make",
})
"""Conda packages with no PyPI counterpart: refused when they would need the fallback."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


def conda_name(package: str) -> str:
    """The package name of a conda spec (`conda-forge::numpy=1.26` → `numpy`)."""
    spec = package.strip().rsplit("::", 1)[-1]
    found = _NAME.match(spec)
    return found.group(0).lower() if found else spec.lower()


def to_pypi(package: str) -> str | None:
    """The PEP 508 requirement for one conda spec, None when it is dropped; raises
    ValidationError for a package PyPI does not have."""
    spec = package.strip().rsplit("::", 1)[-1].strip()
    found = _NAME.match(spec)
    if found is None:
        raise ValidationError(f"conda package {package!r} is not a package spec",
                              package=package)
    name = found.group(0).lower()
    rest = spec[found.end():].strip()
    if name in DROPPED:
        return None
    if name in CONDA_ONLY:
        raise ValidationError(
            f"conda package {package!r} has no PyPI counterpart, and no conda, mamba or "
            f"micromamba is on PATH to install it; install one of them, or remove it "
            f"(docs/migration.md, conda fallback)", package=package)
    target = PYPI_NAMES.get(name, name)
    if not rest:
        return target
    if rest[0] in "<>!~" or rest.startswith("=="):
        version = rest.replace(" ", "")
    else:  # conda's `=1.26`, `=1.26=build`, `1.26 build`: a prefix match on the version
        parts = rest.lstrip("=").replace("=", " ").split()
        version = parts[0] if parts else ""
        if not version:
            return target
        version = "==" + version.rstrip("*").rstrip(".") + ".*"
    return f"{target}{version}"


def pypi_fallback(conda_packages: list[str]) -> tuple[list[str], str]:
    """The PyPI requirements for `conda_packages` and the one line saying how."""
    requirements: list[str] = []
    said: list[str] = []
    for package in conda_packages:
        requirement = to_pypi(package)
        if requirement is None:
            said.append(f"{package} dropped")
            continue
        requirements.append(requirement)
        if requirement != package:
            said.append(f"{package} → {requirement}")
    line = (f"no conda, mamba or micromamba is on PATH, so the conda packages are "
            f"installed from PyPI with uv: {', '.join(conda_packages)}")
    if said:
        line += f" ({'; '.join(said)})"
    return requirements, line


# -- the YAML file -------------------------------------------------------------------------
def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _uncomment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return re.split(r"\s#", line, maxsplit=1)[0].rstrip()


def parse_specification(text: str, source: str) -> dict[str, Any]:
    """A conda environment file as {"name", "channels", "dependencies", "pip"}."""
    result: dict[str, Any] = {"name": None, "channels": [], "dependencies": [], "pip": []}
    key: str | None = None
    in_pip: int | None = None  # the indentation of `- pip:` while reading its list
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _uncomment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()

        def refuse(why: str, number: int = number, raw: str = raw) -> ValidationError:
            return ValidationError(f"{source}:{number}: {why}: {raw.strip()!r}",
                                   path=source, line=number)

        if indent == 0 and not stripped.startswith("-"):
            name, colon, value = stripped.partition(":")
            if not colon:
                raise refuse("expected 'key: value'")
            key, value = name.strip(), value.strip()
            in_pip = None
            if key not in ("name", "channels", "dependencies", "prefix", "variables"):
                raise refuse(f"unknown key {key!r} (a conda file has name, channels, "
                             f"dependencies, prefix, variables)")
            if key == "name":
                result["name"] = _scalar(value) or None
            elif value.startswith("[") and value.endswith("]") and key != "variables":
                if key in ("channels", "dependencies"):
                    result[key].extend(_scalar(v) for v in value[1:-1].split(",")
                                       if v.strip())
            elif value and key in ("channels", "dependencies"):
                raise refuse(f"{key} must be a list")
            continue
        if key == "variables" or key == "prefix":
            continue  # environment variables and a prefix say nothing about packages
        if not stripped.startswith("-") or key not in ("channels", "dependencies"):
            raise refuse("expected a list item ('- ...') under channels or dependencies")
        item = stripped[1:].strip()
        if in_pip is not None and indent > in_pip:
            result["pip"].append(_scalar(item))
            continue
        in_pip = None
        if key == "dependencies" and item.replace(" ", "") == "pip:":
            in_pip = indent
            continue
        if item.endswith(":") or ": " in item:
            raise refuse("only a '- pip:' list may be nested under dependencies")
        result[key].append(_scalar(item))
    return result


def read_specification(path: str | os.PathLike[str]) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"conda specification {path} not found")
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValidationError(f"conda specification {path} is not UTF-8 text ({e.reason} "
                              f"at byte {e.start})", path=str(path)) from e
    return parse_specification(text, str(path))


def _quoted(text: str) -> str:
    if text[:1] in "!&*[]{}|>'\"%@`#" or ": " in text or " #" in text:
        return "'" + text.replace("'", "''") + "'"
    return text


def dump_specification(name: str, channels: list[str], conda: list[str], pip: list[str],
                       python_version: str | None) -> str:
    """The conda environment file v1 writes (`serialize_to_string`, `save`)."""
    lines = ["# Conda environment specification, written by runyard (v1's format).",
             f"name: {name}"]
    if channels:
        lines += ["channels:", *(f"  - {_quoted(c)}" for c in channels)]
    lines.append("dependencies:")
    if python_version:
        lines.append(f"  - python={python_version}")
    lines += [f"  - {_quoted(p)}" for p in conda]
    if pip:
        lines += ["  - pip:", *(f"    - {_quoted(p)}" for p in pip)]
    return "\n".join(lines) + "\n"
