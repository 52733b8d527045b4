"""Targets that payments are delivered to: one module per kind of library system."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems.base import Target

TARGETS = ("webhook", "koha", "folio", "alma", "aleph")


def is_configured() -> bool:
    """Whether deliveries are sent to a library system at all (LIBRARY_SYSTEM_TARGET)."""
    return bool(settings.LIBRARY_SYSTEM_TARGET)


def get_target(name: str | None = None) -> Target | None:
    """The configured target (None: deliveries are kept and shown, nothing is sent)."""
    name = settings.LIBRARY_SYSTEM_TARGET if name is None else name
    if not name:
        return None
    if name not in TARGETS:
        raise ImproperlyConfigured(f"Unknown LIBRARY_SYSTEM_TARGET {name!r}.")
    module = __import__(f"payments.library_systems.{name}", fromlist=["from_settings"])
    return module.from_settings()
