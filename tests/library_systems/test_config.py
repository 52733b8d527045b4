"""An owner's own library system: its settings are environment variables with its prefix."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems import get_target, systems
from payments.library_systems.config import SystemConfig
from tests.factories import OwnerFactory


def test_an_owners_library_system_is_read_from_the_variables_with_its_prefix(monkeypatch):
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_TARGET", "koha")
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_URL", "https://koha.north.example")
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_USER", "portal")
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_PASSWORD", "s3cret")

    target = get_target(config=SystemConfig.named("NORTH"))

    assert (target.name, target.api, target.user) == (
        "koha", "https://koha.north.example/api/v1", "portal",
    )  # fmt: skip


def test_a_missing_setting_of_an_owners_system_is_named_with_its_prefix(monkeypatch):
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_TARGET", "koha")

    with pytest.raises(ImproperlyConfigured, match="NORTH_LIBRARY_SYSTEM_URL"):
        get_target(config=SystemConfig.named("NORTH"))


@pytest.mark.django_db
def test_the_systems_are_the_portals_and_each_one_an_owner_names_once():
    OwnerFactory(library_system_env="NORTH")
    OwnerFactory(library_system_env="NORTH")
    OwnerFactory()

    assert [system.name for system in systems()] == ["", "NORTH"]
