"""The patron view at the desk and counter bookings."""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from fees.models import EntryKind, JournalEntry
from fees.settlement import settlement_run
from staffdesk.models import StaffAction
from tests.factories import FeeFactory, PatronFactory, PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patron():
    return PatronFactory(user_number="U-42", card_number="4242")


def url(patron):
    return reverse("staffdesk:patron", args=[patron.user_number])


def book(client, patron, **data):
    data.setdefault("submission", str(uuid.uuid4()))
    data.setdefault("note", "At the desk")
    return client.post(url(patron), data)


def test_patron_view_shows_journal_with_settled_marks_and_allocations(desk_client, patron):
    yesterday = timezone.localdate() - timezone.timedelta(days=1)
    fee = FeeFactory(
        patron=patron, amount_cents=800, description="Lost atlas", business_date=yesterday
    )
    PaymentFactory(patron=patron, amount_cents=-300, business_date=yesterday)
    settlement_run(business_date=yesterday)
    FeeFactory(patron=patron, amount_cents=200, description="Reminder")

    page = desk_client.get(url(patron)).content.decode()

    assert 'id="balance">7.00 EUR' in page
    assert "Lost atlas" in page and "Reminder" in page
    assert "not yet settled" in page
    assert "← " in page and "3.00 EUR" in page  # the payment offsets the atlas
    assert f"{fee.pk}" in page


def test_lookup_by_card_number_opens_the_patron(desk_client, patron):
    response = desk_client.get(reverse("staffdesk:patron_lookup"), {"q": "4242"})

    assert response.url == url(patron)


def test_lookup_of_an_unknown_number_says_so(desk_client, patron):
    response = desk_client.get(reverse("staffdesk:patron_lookup"), {"q": "nope"}, follow=True)

    assert "No patron with card or user number" in response.content.decode()


def test_counter_payment_is_booked_with_the_staff_id_and_audited(desk_client, staff, patron):
    FeeFactory(patron=patron, amount_cents=1200)

    response = book(desk_client, patron, kind="counter_payment", amount="12.00", method="cash")

    assert response.status_code == 302
    entry = JournalEntry.objects.get(kind=EntryKind.PAYMENT)
    assert (entry.amount_cents, entry.booked_by, entry.method) == (-1200, staff, "cash")
    action = StaffAction.objects.get()
    assert (action.kind, action.journal_entry, action.reason) == (
        "counter_payment",
        entry,
        "At the desk",
    )
    assert "Booked a counter payment" in desk_client.get(url(patron)).content.decode()


def test_amount_in_german_format_is_understood(desk_client, patron):
    desk_client.post(reverse("set_language"), {"language": "de"})

    book(desk_client, patron, kind="credit_note", amount="12,50")

    assert JournalEntry.objects.get().amount_cents == -1250


def test_waiver_of_all_that_is_open(desk_client, patron):
    fee = FeeFactory(patron=patron, amount_cents=900)

    book(desk_client, patron, kind="waiver", fee=fee.pk)

    waiver = JournalEntry.objects.get(kind=EntryKind.WAIVER)
    assert (waiver.amount_cents, waiver.target) == (-900, fee)


def test_waiver_needs_a_fee(desk_client, patron):
    response = book(desk_client, patron, kind="waiver", amount="1.00")

    assert response.status_code == 400
    assert "Choose the fee to waive." in response.content.decode()
    assert not JournalEntry.objects.exists()


def test_waiver_of_another_patrons_fee_is_refused(desk_client, patron):
    FeeFactory(patron=patron)
    someone_elses = FeeFactory(patron=PatronFactory())

    response = book(desk_client, patron, kind="waiver", fee=someone_elses.pk)

    assert response.status_code == 400
    assert not JournalEntry.objects.filter(kind=EntryKind.WAIVER).exists()


def test_refund_beyond_credit_is_refused_with_the_ledgers_message(desk_client, patron):
    response = book(desk_client, patron, kind="refund", amount="5.00", method="cash")

    assert response.status_code == 400
    assert "Only the patron&#x27;s credit of 0.00 EUR can be refunded." in response.content.decode()
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.999"])
def test_bad_amounts_are_refused(desk_client, patron, amount):
    response = book(desk_client, patron, kind="credit_note", amount=amount)

    assert response.status_code == 400
    assert not JournalEntry.objects.exists()


def test_payment_needs_to_say_how_it_was_paid(desk_client, patron):
    response = book(desk_client, patron, kind="counter_payment", amount="5.00")

    assert "Say how the money was paid." in response.content.decode()
    assert not JournalEntry.objects.exists()


def test_double_submit_books_once(desk_client, patron):
    token = str(uuid.uuid4())

    book(desk_client, patron, kind="credit_note", amount="5.00", submission=token)
    book(desk_client, patron, kind="credit_note", amount="5.00", submission=token)

    assert JournalEntry.objects.count() == 1
    assert StaffAction.objects.count() == 1


def test_counter_booking_needs_the_csrf_token(staff, patron):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    assert book(client, patron, kind="credit_note", amount="5.00").status_code == 403
    assert not JournalEntry.objects.exists()


def test_lookup_by_card_number_typed_with_spaces_in_lower_case_opens_the_patron(desk_client):
    patron = PatronFactory(card_number="LB4242")

    response = desk_client.get(reverse("staffdesk:patron_lookup"), {"q": " lb 42 42 "})

    assert response.url == url(patron)


@pytest.mark.parametrize("query", ["\x00", "4242\x00", ""])
def test_lookup_of_something_that_is_no_number_asks_for_one(desk_client, patron, query):
    response = desk_client.get(reverse("staffdesk:patron_lookup"), {"q": query}, follow=True)

    assert response.status_code == 200
    assert "Enter a card or user number." in response.content.decode()


@pytest.mark.parametrize("path", ["/desk/patrons/%00/", "/desk/patrons/U-42%00/"])
def test_nul_in_the_patron_url_is_not_found(desk_client, patron, path):
    assert desk_client.get(path).status_code == 404


# Arabic-Indic three; full-width three; superscript two; Arabic-Indic 12,50; 1 and Arabic-Indic 2.
@pytest.mark.parametrize(
    "amount", ["\u0663", "\uff13", "\u00b2", "\u0661\u0662,\u0665\u0660", "1\u0662.00"]
)
def test_amounts_in_digits_other_than_0_to_9_are_refused_clearly(desk_client, patron, amount):
    response = book(desk_client, patron, kind="credit_note", amount=amount)

    assert response.status_code == 400
    assert "Type the amount with the digits 0 to 9." in response.content.decode()
    assert not JournalEntry.objects.exists()
