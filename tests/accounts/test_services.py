import pytest
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
