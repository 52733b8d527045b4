import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.models import Patron
from accounts.services import patron_create
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db


def test_patron_create_makes_a_user_that_logs_in_with_the_password():
    patron = patron_create(
        user_number="U-9", card_number="9999", last_name="Lind", password="s3cret-pass"
    )

    assert patron.user.check_password("s3cret-pass")
    assert patron.full_name == "Lind"


def test_patron_create_without_password_cannot_log_in():
    patron = patron_create(user_number="U-9", card_number="9999", last_name="Lind")

    assert not patron.user.has_usable_password()


def test_patron_create_refuses_a_card_number_in_use():
    PatronFactory(card_number="9999")

    with pytest.raises(ValidationError) as error:
        patron_create(user_number="U-9", card_number="9999", last_name="Lind")

    assert "card_number" in error.value.message_dict
    assert not Patron.objects.filter(user_number="U-9").exists()


def test_patron_create_stores_the_card_number_without_spaces_in_upper_case():
    patron = patron_create(user_number="U-9", card_number=" lb 99\t99 ", last_name="Lind")

    patron.refresh_from_db()
    assert patron.card_number == "LB9999"


def test_patron_create_refuses_a_card_number_in_use_typed_differently():
    PatronFactory(card_number="LB9999")

    with pytest.raises(ValidationError) as error:
        patron_create(user_number="U-9", card_number="lb 9999", last_name="Lind")

    assert "card_number" in error.value.message_dict


@pytest.mark.parametrize("user_number", ["\u0661\u0662", "..", "U 1", "U/1", "M\u00fcller"])
def test_patron_create_refuses_a_user_number_outside_the_pattern(user_number):
    with pytest.raises(ValidationError) as error:
        patron_create(user_number=user_number, card_number="9999", last_name="Lind")

    assert list(error.value.message_dict) == ["user_number"]
    assert not Patron.objects.exists() and not get_user_model().objects.exists()


def normalize_existing_card_numbers():
    migration = importlib.import_module("accounts.migrations.0003_normalize_card_numbers")
    migration.normalize_card_numbers(django_apps, None)


def test_migration_stores_existing_card_numbers_normalised():
    patron = PatronFactory(card_number=" lb 12\t34 ")

    normalize_existing_card_numbers()

    patron.refresh_from_db()
    assert patron.card_number == "LB1234"


def test_migration_leaves_a_card_number_whose_normal_form_is_taken():
    holder = PatronFactory(card_number="LB1234")
    clash = PatronFactory(card_number="lb 1234")

    normalize_existing_card_numbers()

    holder.refresh_from_db()
    clash.refresh_from_db()
    assert (holder.card_number, clash.card_number) == ("LB1234", "lb 1234")
