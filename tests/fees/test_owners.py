"""Fee owners (fees.models.owners): the default owner reads the settings, and an owner's
secrets stay in the environment."""

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError

from fees.models import Owner
from tests.factories import OwnerFactory

pytestmark = pytest.mark.django_db


def test_a_secret_pasted_where_its_variables_name_belongs_is_refused():
    owner = OwnerFactory.build(code="NORTH", stripe_secret_key_env="sk_live_51AbCdEf")

    with pytest.raises(ValidationError) as refused:
        owner.full_clean()

    assert "stripe_secret_key_env" in refused.value.message_dict


def test_a_url_given_where_the_library_systems_prefix_belongs_is_refused():
    owner = OwnerFactory.build(code="NORTH", library_system_env="https://koha.north.example")

    with pytest.raises(ValidationError) as refused:
        owner.full_clean()

    assert "library_system_env" in refused.value.message_dict


def test_an_owners_secret_is_read_from_the_variable_it_names(monkeypatch):
    monkeypatch.setenv("NORTH_STRIPE_KEY", "sk_test_51North")
    owner = OwnerFactory(stripe_secret_key_env="NORTH_STRIPE_KEY")

    assert owner.secret("stripe_secret_key_env", "STRIPE_SECRET_KEY") == "sk_test_51North"


def test_a_variable_that_is_not_set_is_a_configuration_error_naming_it(monkeypatch):
    monkeypatch.delenv("NORTH_UNSET", raising=False)
    owner = OwnerFactory(code="NORTH", stripe_secret_key_env="NORTH_UNSET")

    with pytest.raises(ImproperlyConfigured, match="NORTH_UNSET"):
        owner.secret("stripe_secret_key_env", "STRIPE_SECRET_KEY")


def test_the_default_owner_reads_the_portals_settings(settings):
    settings.LIBRARY_NAME, settings.ONLINE_MINIMUM_CENTS = "Stadtbibliothek", 300
    settings.STRIPE_SECRET_KEY = "sk_test_portal"

    default = Owner.objects.default()

    assert (default.name, default.minimum_cents) == ("Stadtbibliothek", 300)
    assert default.secret("stripe_secret_key_env", "STRIPE_SECRET_KEY") == "sk_test_portal"


def test_a_second_default_owner_is_refused_by_the_database():
    Owner.objects.default()

    with pytest.raises(IntegrityError):
        OwnerFactory(is_default=True)


def test_a_provider_name_nobody_knows_is_refused_with_the_known_ones():
    owner = OwnerFactory.build(code="NORTH", provider="stripe,paypall")

    with pytest.raises(ValidationError) as refused:
        owner.full_clean()

    (message,) = refused.value.message_dict["provider"]
    assert "paypall" in message and "paypal" in message


def test_known_provider_names_pass():
    OwnerFactory.build(code="NORTH", provider="paypal,stripe").full_clean()
