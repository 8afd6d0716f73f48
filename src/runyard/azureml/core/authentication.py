"""`azureml.core.authentication`: v1's sign-in classes, accepted and ignored.

A runyard workspace is a folder (or a database URL and an object store that the team's own
credentials reach); there is no Azure sign-in. Making one of these warns once, on one
line, and the object can be passed wherever v1 takes `auth=`.
"""

from __future__ import annotations

import warnings
from enum import Enum
from typing import Any

from runyard.azureml._ignored import AzureArgumentIgnoredWarning
from runyard.azureml._surface import module_getattr, v1_members


class Audience(Enum):
    """v1's token audiences (for `TokenAuthentication`)."""

    ARM = "ARM"
    AZUREML = "AZUREML"


@v1_members("azureml.core.authentication.AbstractAuthentication")
class AbstractAuthentication:
    """What every v1 sign-in class is here: a placeholder that signs nobody in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(f"runyard ignores {type(self).__name__}: there is no Azure sign-in "
                      f"(see docs/migration.md)", AzureArgumentIgnoredWarning, stacklevel=2)

    def get_authentication_header(self) -> dict[str, str]:
        return {}


class InteractiveLoginAuthentication(AbstractAuthentication):
    """v1's browser sign-in (ignored)."""


class ServicePrincipalAuthentication(AbstractAuthentication):
    """v1's service principal sign-in (ignored)."""


class AzureCliAuthentication(AbstractAuthentication):
    """v1's `az login` sign-in (ignored)."""


class MsiAuthentication(AbstractAuthentication):
    """v1's managed identity sign-in (ignored)."""


class TokenAuthentication(AbstractAuthentication):
    """v1's token sign-in (ignored)."""


@v1_members("azureml.core.authentication.ArmTokenAuthentication")
class ArmTokenAuthentication(AbstractAuthentication):
    """v1's Azure Resource Manager token sign-in (ignored)."""


@v1_members("azureml.core.authentication.AzureMLTokenAuthentication")
class AzureMLTokenAuthentication(AbstractAuthentication):
    """v1's in-run token sign-in (ignored)."""

    EXPIRATION_THRESHOLD_IN_SECONDS = 95
    REFRESH_INTERVAL_IN_SECONDS = 30


__getattr__ = module_getattr(__name__)


__all__ = ["AbstractAuthentication", "ArmTokenAuthentication", "Audience",
           "AzureCliAuthentication", "AzureMLTokenAuthentication",
           "InteractiveLoginAuthentication", "MsiAuthentication",
           "ServicePrincipalAuthentication", "TokenAuthentication"]
