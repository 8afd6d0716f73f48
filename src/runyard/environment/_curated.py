"""Azure's curated environments ("AzureML-Minimal", "AzureML-sklearn-1.0-...-cpu") as
runyard pip specs.

A curated environment was a Docker image Azure built; here it is the framework it was
named for, installed with uv on the Python runyard runs on. The image's OS, CUDA, Python
and framework pins are not kept: Azure's old pins (scikit-learn 0.24, PyTorch 1.x,
Python 3.7/3.8) have no wheels for Python 3.10 or newer, which runyard's runtime needs.
Pin a version yourself with `env.python.conda_dependencies.add_pip_package(...)`.

`curated(name)` gives the Environment, with one warning line saying what it became, or
raises naming the local alternative for a curated name that maps to nothing here.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from runyard.errors import ValidationError

if TYPE_CHECKING:
    from runyard.environment._definition import Environment

# (word in the lower-cased name, pip packages; "gpu" variants in _GPU)
_FRAMEWORKS: list[tuple[str, list[str]]] = [
    ("minimal", []),
    ("tutorial", ["numpy", "pandas", "scikit-learn", "matplotlib"]),
    ("sklearn", ["scikit-learn", "pandas"]),
    ("scikit-learn", ["scikit-learn", "pandas"]),
    ("lightgbm", ["lightgbm", "scikit-learn", "pandas"]),
    ("xgboost", ["xgboost", "scikit-learn", "pandas"]),
    ("tensorflow", ["tensorflow"]),
    ("pytorch", ["torch", "torchvision"]),
    ("acpt", ["torch", "torchvision"]),
]
_GPU = {"tensorflow": "tensorflow[and-cuda]"}
_REFUSED = ("automl", "triton", "responsibleai", "designer", "azureml-dataprep", "vowpal",
            "mlflow-deployment", "inference")


def curated(name: str) -> Environment | None:
    """The runyard Environment for an Azure curated name, None if `name` is not one."""
    lowered = name.lower()
    if not lowered.startswith("azureml-"):
        return None
    from runyard.environment._definition import Environment
    from runyard.environment._dependencies import EnvironmentFallbackWarning

    if any(word in lowered for word in _REFUSED):
        raise ValidationError(
            f"curated environment {name!r} has no local counterpart in runyard; make one: "
            f"Environment({name!r}) with env.python.conda_dependencies = "
            f"CondaDependencies.create(pip_packages=[...]), or "
            f"Environment.from_pip_requirements({name!r}, 'requirements.txt')", name=name)
    packages = next((found for word, found in _FRAMEWORKS if word in lowered), None)
    if packages is None:
        raise ValidationError(
            f"curated environment {name!r} is not one runyard knows (it knows "
            f"AzureML-Minimal, AzureML-Tutorial and the sklearn, lightgbm, xgboost, "
            f"tensorflow and pytorch ones); make it locally: Environment({name!r}) with "
            f"CondaDependencies.create(pip_packages=[...]), or "
            f"Environment.from_pip_requirements({name!r}, 'requirements.txt')", name=name)
    gpu = "gpu" in lowered or "cuda" in lowered
    chosen = [_GPU.get(p, p) if gpu else p for p in packages]
    env = Environment(name)
    for package in chosen:
        env.python.conda_dependencies.add_pip_package(package)
    what = ", ".join(chosen) if chosen else "no packages (the interpreter runyard runs in)"
    warnings.warn(f"curated environment {name!r} is runyard's pip spec here: {what}; its "
                  f"image's OS, CUDA, Python and version pins do not apply "
                  f"(docs/environments.md)", EnvironmentFallbackWarning, stacklevel=3)
    return env
