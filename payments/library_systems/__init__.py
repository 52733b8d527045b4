"""Targets that payments are delivered to: one module per kind of library system.

Most libraries have one library system, set by the LIBRARY_SYSTEM_* settings. In a
consortium an owner may name its own (`Owner.library_system_env`): its fees' money is
delivered there (config.SystemConfig).
"""

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from payments.library_systems.base import Target
from payments.library_systems.config import SystemConfig

TARGETS = ("webhook", "koha", "folio", "alma", "aleph")


def is_configured() -> bool:
    """Whether deliveries are sent to a library system at all."""
    return any(config.target for config in systems())


def get_target(name: str | None = None, config: SystemConfig | None = None) -> Target | None:
    """The target of a library system, the portal's unless `config` names another (None:
    deliveries are kept and shown, nothing is sent). `name` picks the kind of target
    rather than the configured one."""
    config = config or SystemConfig.portal()
    name = config.target if name is None else name
    if not name:
        return None
    if name not in TARGETS:
        raise ImproperlyConfigured(f"Unknown {config.setting('target')} {name!r}.")
    module = __import__(f"payments.library_systems.{name}", fromlist=["from_settings"])
    return module.from_settings(config)


def systems() -> list[SystemConfig]:
    """The library systems money is delivered to: the portal's, then each one an owner
    names."""
    from fees.models import Owner

    names = (
        Owner.objects.exclude(library_system_env="")
        .order_by("library_system_env")
        .values_list("library_system_env", flat=True)
        .distinct()
    )
    return [SystemConfig.portal(), *(SystemConfig.named(name) for name in names)]


def of_system(config: SystemConfig, path: str = "entry__owner") -> Q:
    """The bookings whose money goes to this library system: those of the owners that name
    it; for the portal's, those of owners that name none (and of no owner)."""
    if config.name:
        return Q(**{f"{path}__library_system_env": config.name})
    return Q(**{f"{path}__isnull": True}) | Q(**{f"{path}__library_system_env": ""})
