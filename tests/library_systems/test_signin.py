"""Signing in with the library card and its PIN, checked by a (fake) Koha, through the
login page: payments.library_systems.signin.LibraryCardBackend and the patron it links."""

import logging

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from accounts.models import Patron
from fees import selectors
from tests.accounts.helpers import CARD, PIN, signed_in_patron
from tests.factories import PASSWORD, DeskStaffFactory, PatronFactory
from tests.library_systems.fake_server import Reply

pytestmark = pytest.mark.django_db

VALIDATION = r"/api/v1/auth/password/validation"


@pytest.fixture
def by_card(koha_patron, settings):
    """The library enables card and PIN; Koha knows patron 42 with its card, PIN and a fee."""
    settings.SIGN_IN_METHODS = ["library_card"]
    return koha_patron


def sign_in(client, card=CARD, pin=PIN, **extra):
    data = {"method": "library_card", "username": card, "password": pin, **extra}
    return client.post(reverse("accounts:login"), data)


def test_the_first_sign_in_creates_the_patron_from_the_library_systems_data(client, by_card):
    response = sign_in(client)

    assert response.status_code == 302
    patron = signed_in_patron(client)
    assert (patron.external_id, patron.card_number, patron.last_name, patron.email) == (
        "42", CARD, "Muster", "erika@example.org",
    )  # fmt: skip


def test_the_first_sign_in_reads_the_patrons_fees(client, by_card):
    sign_in(client)

    assert selectors.balance_cents(patron=signed_in_patron(client)) == 750


def test_a_later_sign_in_takes_the_patrons_new_data(client, by_card):
    sign_in(client)
    client.post(reverse("accounts:logout"))
    by_card.patrons[42].email = "new@example.org"

    sign_in(client)

    assert Patron.objects.get().email == "new@example.org"


def test_a_patron_the_api_created_is_linked_by_the_card_number(client, by_card):
    patron = PatronFactory(card_number=CARD, external_id="")

    sign_in(client)

    assert signed_in_patron(client) == patron
    patron.refresh_from_db()
    assert patron.external_id == "42"


def test_the_pin_is_not_kept(client, by_card):
    sign_in(client)

    assert not signed_in_patron(client).user.has_usable_password()


def test_the_pin_is_not_logged(client, by_card, caplog):
    by_card.server.route("POST", VALIDATION, Reply(503, {"error": "Under maintenance"}))

    with caplog.at_level(logging.DEBUG):
        sign_in(client)

    assert caplog.records
    assert PIN not in caplog.text


def test_a_wrong_pin_is_refused_with_a_message(client, by_card):
    response = sign_in(client, pin="0000")

    assert response.status_code == 200
    assert signed_in_patron(client) is None
    assert "The card number or the PIN is not right" in response.content.decode()
    assert not Patron.objects.exists()


def test_a_wrong_pin_counts_as_a_failed_attempt(client, by_card):
    sign_in(client, pin="0000")

    assert AccessAttempt.objects.get().failures_since_start == 1


def test_an_unknown_card_is_refused_as_a_wrong_pin_is(client, by_card):
    response = sign_in(client, card="9999999999")

    assert "The card number or the PIN is not right" in response.content.decode()


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(503, {"error": "Under maintenance"}), id="down"),
        pytest.param(Reply(hang=True), id="slow"),
        pytest.param(Reply(201, "<html>oops</html>"), id="malformed"),
    ],
)
def test_a_library_system_that_cannot_check_says_so_and_counts_no_failure(
    client, by_card, settings, reply
):
    settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 0.5
    by_card.server.route("POST", VALIDATION, reply)

    response = sign_in(client)

    assert "The library system cannot check your PIN right now" in response.content.decode()
    assert signed_in_patron(client) is None
    assert not AccessAttempt.objects.exists()


def test_a_new_patron_whose_data_cannot_be_read_is_not_signed_in(client, by_card):
    by_card.server.route("GET", r"/api/v1/patrons/42", Reply(503, {"error": "Under maintenance"}))

    response = sign_in(client)

    assert "The library system cannot check your PIN right now" in response.content.decode()
    assert not Patron.objects.exists()


def test_a_known_patron_whose_fees_cannot_be_read_still_gets_in(client, by_card):
    sign_in(client)
    client.post(reverse("accounts:logout"))
    by_card.server.route("GET", r"/api/v1/patrons/42/account", Reply(503, {"error": "down"}))

    sign_in(client)

    assert signed_in_patron(client) is not None


def test_throttling_stops_the_guessing_before_the_library_system_is_asked(client, by_card):
    for _ in range(5):
        sign_in(client, pin="0000")
    asked = len(by_card.server.sent("POST", VALIDATION))

    response = sign_in(client)

    assert response.status_code == 429
    assert len(by_card.server.sent("POST", VALIDATION)) == asked


def test_a_pin_sign_in_is_not_offered_when_the_library_does_not_enable_it(client, koha, settings):
    settings.SIGN_IN_METHODS = ["password"]
    koha.add_patron(42, CARD, "Muster")
    koha.patrons[42].pin = PIN

    response = sign_in(client)

    assert signed_in_patron(client) is None
    assert koha.server.sent("POST", VALIDATION) == []
    assert "PIN" not in response.content.decode()


def test_a_portal_password_does_not_sign_a_patron_in_when_the_library_turns_it_off(client, by_card):
    PatronFactory(card_number="5555555555")

    client.post(reverse("accounts:login"), {"username": "5555555555", "password": PASSWORD})

    assert signed_in_patron(client) is None


def test_staff_still_log_in_with_their_password(client, by_card):
    staff = DeskStaffFactory(username="desk7")

    client.post(reverse("accounts:login"), {"username": "desk7", "password": PASSWORD})

    assert int(client.session["_auth_user_id"]) == staff.pk


def test_the_login_page_offers_the_library_card_in_the_librarys_words(client, by_card, settings):
    settings.SIGN_IN_LABELS = {"library_card.en": "Your city library card"}

    page = client.get(reverse("accounts:login")).content.decode()

    assert "Your city library card" in page
    assert "Staff log in" in page


def test_a_sign_in_method_the_portal_does_not_know_fails_the_system_check(settings):
    from payments.checks import sign_in_check

    settings.SIGN_IN_METHODS = ["library_card", "carrier_pigeon"]
    settings.LIBRARY_SYSTEM_TARGET = "webhook"

    assert [error.id for error in sign_in_check(None)] == ["payments.E002", "payments.E003"]
