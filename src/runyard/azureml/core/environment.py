"""`azureml.core.environment`: environments, built with uv and cached by content (runyard's
Environment has v1's names: `python.conda_dependencies`, `environment_variables`,
`docker.*` (kept, ignored with a warning: no Docker engine is used), `from_conda_specification`,
and Azure's curated names through `Environment.get`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.azureml._surface import module_getattr
from runyard.environment import CondaDependencies, Environment
from runyard.environment._build import EnvironmentBuild
from runyard.environment._definition import PythonSection
from runyard.environment._docker import DockerSection
from runyard.errors import NotSupportedError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

# v1's default images: setting one on env.docker is kept and ignored, as every image is
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"

PythonEnvironment = PythonSection  # v1's deprecated names
DockerEnvironment = DockerSection


class _BuildRecord(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, EnvironmentBuild)


class ImageBuildDetails(EnvironmentBuild, metaclass=_BuildRecord):
    """What `env.build(ws)` returns (every EnvironmentBuild is one): status, get_log(),
    wait_for_completion(). v1 makes it from its environment client; so does runyard's
    build, and constructing one is refused."""

    def __init__(self, environment_client: Any = None, location: str | None = None) -> None:
        raise NotSupportedError(
            "ImageBuildDetails is what env.build(ws) returns; build the environment with "
            "env.build(ws) instead of constructing one",
            name="azureml.core.environment.ImageBuildDetails")


class DockerImagePlatform:
    """v1's image platform (kept, never used: no image is built)."""

    def __init__(self) -> None:
        self.os = "Linux"
        self.architecture = "amd64"


class EnvironmentReference:
    """A registered environment by name (and version), for where v1 took one."""

    def __init__(self, name: str, version: int | None = None) -> None:
        self.name = name
        self.version = version

    def __repr__(self) -> str:
        return f"EnvironmentReference(name={self.name!r}, version={self.version!r})"

    def get_environment(self, workspace: Workspace) -> Environment:
        return Environment.get(workspace, self.name, self.version)


__all__ = ["DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "CondaDependencies", "DockerEnvironment",
           "DockerImagePlatform", "DockerSection", "Environment", "EnvironmentReference",
           "ImageBuildDetails", "PythonEnvironment", "PythonSection"]

__getattr__ = module_getattr(__name__)
