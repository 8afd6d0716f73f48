"""Docker settings in v1's shape: accepted, kept with the definition, and ignored.

runyard runs no containers: an environment becomes a uv-built virtual environment (or the
interpreter runyard runs in when it lists no packages). So `env.docker.*`,
`DockerConfiguration` and `ContainerRegistry` are accepted as v1 has them, kept when an
environment is registered, and ignored with one warning line (`DockerIgnoredWarning`)
saying that the run uses a uv environment instead. A Docker builder would plug into
`runyard.environment._builders` (docs/environments.md).
"""

from __future__ import annotations

import warnings
from typing import Any

DEFAULT_SHM_SIZE = "2g"
INSTEAD = ("no Docker engine is used here; the run uses a uv environment instead "
           "(docs/environments.md)")


class DockerIgnoredWarning(UserWarning):
    """Docker settings that runyard keeps but does not act on."""


def warn_docker_ignored(what: str, settings: list[str], stacklevel: int = 3) -> None:
    if settings:
        warnings.warn(f"runyard ignores {what} ({', '.join(settings)}): {INSTEAD}",
                      DockerIgnoredWarning, stacklevel=stacklevel)


class RegistryIdentity:
    """v1's managed identity for a container registry (kept, never used)."""

    def __init__(self) -> None:
        self.resource_id: str | None = None
        self.client_id: str | None = None


class ContainerRegistry:
    """v1's container registry connection: address, username, password (kept, never used;
    the password is never written with the environment's definition)."""

    def __init__(self) -> None:
        self.address: str | None = None
        self.username: str | None = None
        self.password: str | None = None
        self.registry_identity: RegistryIdentity | None = None

    def __repr__(self) -> str:
        return f"ContainerRegistry(address={self.address!r}, username={self.username!r})"

    def _settings(self) -> list[str]:
        return [f"base_image_registry.{name}" for name in ("address", "username", "password")
                if getattr(self, name) is not None]


class DockerSection:
    """`env.docker`: v1's fields, kept with the definition; no Docker engine runs them."""

    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = None
        self.base_dockerfile: str | None = None
        self.base_image_registry = ContainerRegistry()
        self.build_context: Any = None
        self.shm_size: str | None = None
        self.shared_volumes = True
        self.arguments: list[str] = []
        self.platform: Any = None

    @property
    def gpu_support(self) -> bool:
        """Deprecated in v1 (GPUs are found by the compute); always True."""
        return True

    @gpu_support.setter
    def gpu_support(self, _value: bool) -> None:
        pass

    def settings(self) -> list[str]:
        """The fields set away from v1's defaults, as `name=value` for a warning."""
        found = [f"{name}={getattr(self, name)!r}" for name in
                 ("base_image", "base_dockerfile", "build_context", "shm_size")
                 if getattr(self, name) is not None]
        if self.enabled:
            found.insert(0, "enabled=True")
        if self.shared_volumes is not True:
            found.append(f"shared_volumes={self.shared_volumes!r}")
        if self.arguments:
            found.append(f"arguments={self.arguments!r}")
        return found + self.base_image_registry._settings()

    def to_dict(self) -> dict[str, Any]:
        registry = self.base_image_registry
        return {"enabled": self.enabled, "base_image": self.base_image,
                "base_dockerfile": self.base_dockerfile, "shm_size": self.shm_size,
                "shared_volumes": self.shared_volumes, "arguments": list(self.arguments),
                "base_image_registry": {"address": registry.address,
                                        "username": registry.username}}

    def load(self, data: dict[str, Any]) -> None:
        self.enabled = bool(data.get("enabled"))
        self.base_image = data.get("base_image")
        self.base_dockerfile = data.get("base_dockerfile")
        self.shm_size = data.get("shm_size")
        self.shared_volumes = data.get("shared_volumes", True)
        self.arguments = list(data.get("arguments") or [])
        registry = data.get("base_image_registry") or {}
        self.base_image_registry.address = registry.get("address")
        self.base_image_registry.username = registry.get("username")


class DockerConfiguration:
    """v1's `azureml.core.runconfig.DockerConfiguration`: kept, and ignored with one
    warning line when it asks for Docker (`use_docker=True`, arguments, a shm size)."""

    def __init__(self, use_docker: bool = False, shared_volumes: bool = True,
                 arguments: list[str] | None = None,
                 shm_size: str | None = DEFAULT_SHM_SIZE) -> None:
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size
        settings = [f"{name}={value!r}" for name, value, default in (
            ("use_docker", use_docker, False), ("shared_volumes", shared_volumes, True),
            ("arguments", self.arguments, []), ("shm_size", shm_size, DEFAULT_SHM_SIZE))
            if value != default]
        warn_docker_ignored("DockerConfiguration", settings)

    def __repr__(self) -> str:
        return (f"DockerConfiguration(use_docker={self.use_docker!r}, "
                f"shared_volumes={self.shared_volumes!r}, arguments={self.arguments!r}, "
                f"shm_size={self.shm_size!r})")
