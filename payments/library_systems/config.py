"""Where a library system is and how to sign in to it: the portal's LIBRARY_SYSTEM_*
settings, or those of an owner with a library system of its own.

An owner that names one (`Owner.library_system_env`, e.g. NORTH) is configured by
environment variables with that prefix, NORTH_LIBRARY_SYSTEM_TARGET,
NORTH_LIBRARY_SYSTEM_URL and so on, the same names as the portal's settings: its secrets
stay in the environment, never in the database.
"""

import os
from dataclasses import dataclass

from django.conf import settings

FIELDS = ("target", "url", "user", "password", "api_key", "secret", "tenant", "library",
          "sub_library", "xserver_url")  # fmt: skip


@dataclass(frozen=True)
class SystemConfig:
    """One library system's settings. `name` is "" for the portal's own, else the prefix
    of the owner's environment variables."""

    name: str
    target: str
    url: str
    user: str
    password: str
    api_key: str
    secret: str
    tenant: str
    library: str
    sub_library: str
    xserver_url: str
    timeout: float

    @classmethod
    def portal(cls) -> "SystemConfig":
        values = {field: getattr(settings, f"LIBRARY_SYSTEM_{field.upper()}") for field in FIELDS}
        return cls(name="", timeout=settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS, **values)

    @classmethod
    def named(cls, name: str) -> "SystemConfig":
        """The library system set by the environment variables `name`_LIBRARY_SYSTEM_*."""
        values = {
            field: os.environ.get(f"{name}_LIBRARY_SYSTEM_{field.upper()}", "") for field in FIELDS
        }
        return cls(name=name, timeout=settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS, **values)

    def setting(self, field: str) -> str:
        """The name of one of these settings, for messages: LIBRARY_SYSTEM_URL, or
        NORTH_LIBRARY_SYSTEM_URL for an owner's."""
        prefix = f"{self.name}_" if self.name else ""
        return f"{prefix}LIBRARY_SYSTEM_{field.upper()}"
