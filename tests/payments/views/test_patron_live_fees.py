"""The account page and the pay button with fees read live from the library system (a fake
Koha): what the patron sees, and what the journal holds, when the fees changed there or
could not be read."""

import re

import pytest
from django.urls import reverse

from fees import selectors
from fees.models import EntryKind, JournalEntry
from payments.models import PaymentOrder
from tests.library_systems.fake_server import Reply, closed_port_url
from tests.payments.helpers import start_payment

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("payments:account")
KOHA_ACCOUNT = r"/api/v1/patrons/42/account"
CHANGED = "Your fees changed in the library system: please check your selection."
UNREACHABLE = "The library system cannot be reached right now, so your fees cannot be checked"


@pytest.fixture
def reader(client, koha, linked_patron):
    """The patron, signed in, with a 5.00 fee in Koha that the account page has read."""
    client.force_login(linked_patron.user)
    koha.line = koha.add_fee(42, 500, description="Overdue: Momo")
    client.get(ACCOUNT)
    return client


def the_fee(patron):
    return JournalEntry.objects.get(patron=patron, kind=EntryKind.FEE, external_id__gt="",
                                    amount_cents__gt=0, target__isnull=True)  # fmt: skip


def test_the_account_page_shows_a_fee_that_only_the_library_system_had(reader, linked_patron):
    page = reader.get(ACCOUNT).content.decode()

    assert "Overdue: Momo" in page
    assert selectors.balance_cents(patron=linked_patron) == 500


def test_unchanged_fees_start_the_payment(reader, linked_patron):
    response = start_payment(reader, the_fee(linked_patron))

    assert response.status_code == 302
    assert PaymentOrder.objects.filter(patron=linked_patron).exists()


def change_raised(koha):
    koha.set_outstanding(42, koha.line, 800)


def change_lowered(koha):
    koha.set_outstanding(42, koha.line, 200)


def change_paid_there(koha):
    koha.set_outstanding(42, koha.line, 0)


def change_cancelled_there(koha):
    del koha.patrons[42].lines[koha.line]


def change_new_fee(koha):
    koha.add_fee(42, 300, description="Reminder")


@pytest.mark.parametrize(
    ("change", "balance"),
    [
        (change_raised, 800),
        (change_lowered, 200),
        (change_paid_there, 0),
        (change_cancelled_there, 0),
        (change_new_fee, 800),
    ],
)
def test_fees_changed_in_the_library_system_stop_the_payment_and_show_the_new_state(
    reader, koha, linked_patron, change, balance
):
    fee = the_fee(linked_patron)
    change(koha)

    response = start_payment(reader, fee)

    page = response.content.decode()
    assert response.status_code == 409
    assert CHANGED in page
    assert re.search(r'id="balance">' + re.escape(f"{balance / 100:.2f}"), page)
    assert not PaymentOrder.objects.exists()
    assert selectors.balance_cents(patron=linked_patron) == balance


def fail_server_error(koha, settings):
    koha.server.route("GET", KOHA_ACCOUNT, Reply(500, {"error": "Internal server error"}))


def fail_timeout(koha, settings):
    settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 0.5
    koha.server.route("GET", KOHA_ACCOUNT, Reply(hang=True))


def fail_connection_refused(koha, settings):
    settings.LIBRARY_SYSTEM_URL = closed_port_url()


def fail_malformed_json(koha, settings):
    koha.server.route("GET", KOHA_ACCOUNT, Reply(200, '{"balance": 5, "outstanding_debits": '))


def fail_answer_after_the_timeout(koha, settings):
    settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 0.5
    koha.server.route("GET", KOHA_ACCOUNT, Reply(200, {"balance": 0}, delay=0.8))


FAILURES = [
    fail_server_error, fail_timeout, fail_connection_refused, fail_malformed_json,
    fail_answer_after_the_timeout,
]  # fmt: skip


@pytest.mark.parametrize("failure", FAILURES)
def test_a_library_system_that_cannot_be_read_stops_the_payment(
    reader, koha, linked_patron, settings, failure
):
    fee = the_fee(linked_patron)
    failure(koha, settings)

    response = start_payment(reader, fee)

    assert response.status_code == 503
    assert UNREACHABLE in response.content.decode()
    assert not PaymentOrder.objects.exists()
    assert selectors.balance_cents(patron=linked_patron) == 500


@pytest.mark.parametrize("failure", FAILURES)
def test_the_account_page_shows_the_fees_as_last_read_and_no_pay_button(
    reader, koha, linked_patron, settings, failure
):
    settings.LIBRARY_SYSTEM_FEES_MAX_AGE_SECONDS = 0
    failure(koha, settings)

    page = reader.get(ACCOUNT).content.decode()

    assert "These are your fees as of" in page
    assert "Overdue: Momo" in page
    assert "Pay selected fees" not in page


def test_pressing_pay_twice_starts_one_payment(reader, linked_patron):
    fee = the_fee(linked_patron)
    start_payment(reader, fee)

    second = start_payment(reader, fee)

    assert second.status_code == 200
    assert "already in a payment that has not finished yet" in second.content.decode()
    assert PaymentOrder.objects.filter(patron=linked_patron).count() == 1
