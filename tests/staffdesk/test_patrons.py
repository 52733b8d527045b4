"""The patron view at the desk and counter bookings."""

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from fees.models import EntryKind, JournalEntry
from fees.settlement import settlement_run
from staffdesk.actions import perform
from staffdesk.models import StaffAction
from tests.factories import FeeFactory, PatronFactory, PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def yesterday():
    return timezone.localdate() - timezone.timedelta(days=1)


@pytest.fixture
def another_patrons_fee(patron):
    """Another patron's fee, while this patron has an open fee of their own."""
    FeeFactory(patron=patron)
    return FeeFactory(patron=PatronFactory())


@pytest.fixture
def fee_offset_in_full(patron, yesterday):
    """The patron's fee of 3.00 that yesterday's payment offset in full at the settlement."""
    fee = FeeFactory(patron=patron, amount_cents=300, business_date=yesterday)
    PaymentFactory(patron=patron, amount_cents=-300, business_date=yesterday)
    settlement_run(business_date=yesterday)
    return fee


def url(patron):
    return reverse("staffdesk:patron", args=[patron.user_number])


def book(client, patron, follow=False, **data):
    data.setdefault("submission", str(uuid.uuid4()))
    data.setdefault("note", "At the desk")
    return client.post(url(patron), data, follow=follow)


def test_patron_view_shows_journal_with_settled_marks_and_allocations(
    desk_client, patron, yesterday
):
    fee = FeeFactory(
        patron=patron, amount_cents=800, description="Lost atlas", business_date=yesterday
    )
    PaymentFactory(patron=patron, amount_cents=-300, business_date=yesterday)
    settlement_run(business_date=yesterday)
    FeeFactory(patron=patron, amount_cents=200, description="Reminder")

    page = desk_client.get(url(patron)).content.decode()

    assert 'id="balance">7.00 EUR' in page
    assert "Lost atlas" in page and "Reminder" in page
    assert offset_of(page, "Lost atlas") == "Partly offset, 5.00 EUR open"
    assert "← " in page and "3.00 EUR" in page  # the payment offsets the atlas
    assert f"{fee.pk}" in page


def offset_of(page, text):
    """The text of the "Open / offset" cell in the journal row that shows `text`."""
    journal = page[page.index('id="journal"') :]
    row = next(row for row in journal.split("<tr>") if text in row)
    cell = row.split("<td")[6].split("</td>")[0].split(">", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


def test_journal_shows_a_settled_fee_nothing_has_paid_as_open(desk_client, patron, yesterday):
    FeeFactory(patron=patron, amount_cents=800, description="Lost atlas", business_date=yesterday)
    settlement_run(business_date=yesterday)

    page = desk_client.get(url(patron)).content.decode()

    assert offset_of(page, "Lost atlas") == "Open"


def test_journal_shows_a_fee_offset_in_full_and_the_payment_used_up(desk_client, patron, yesterday):
    FeeFactory(patron=patron, amount_cents=300, description="Lost atlas", business_date=yesterday)
    PaymentFactory(patron=patron, amount_cents=-300, business_date=yesterday, note="Cash")
    settlement_run(business_date=yesterday)

    page = desk_client.get(url(patron)).content.decode()

    assert offset_of(page, "Lost atlas").startswith("Offset in full")
    assert offset_of(page, "Cash").startswith("Used in full")


def test_journal_shows_a_payment_of_today_as_waiting_for_the_settlement(desk_client, patron):
    FeeFactory(patron=patron, amount_cents=300, description="Lost atlas")
    PaymentFactory(patron=patron, amount_cents=-300, note="Cash")

    page = desk_client.get(url(patron)).content.decode()

    assert offset_of(page, "Cash") == "Offset at the daily settlement"
    assert offset_of(page, "Lost atlas") == "Open"


def test_journal_shows_credit_no_fee_has_used(desk_client, patron, yesterday):
    PaymentFactory(patron=patron, amount_cents=-500, business_date=yesterday, note="Cash")
    settlement_run(business_date=yesterday)

    page = desk_client.get(url(patron)).content.decode()

    assert offset_of(page, "Cash") == "Unused: 5.00 EUR"


def test_lookup_by_card_number_opens_the_patron(desk_client, patron):
    response = desk_client.get(reverse("staffdesk:patron_lookup"), {"q": "4242"})

    assert response.url == url(patron)


def test_lookup_by_user_number_in_lower_case_opens_the_patron(desk_client, patron):
    response = desk_client.get(reverse("staffdesk:patron_lookup"), {"q": "u-42"})

    assert response.url == url(patron)


def test_lookup_prefers_the_user_number_as_typed_to_one_in_another_case(desk_client, patron):
    same_but_lower = PatronFactory(user_number="u-42")

    response = desk_client.get(reverse("staffdesk:patron_lookup"), {"q": "u-42"})

    assert response.url == url(same_but_lower)


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


def test_waiver_of_another_patrons_fee_is_refused(desk_client, patron, another_patrons_fee):
    response = book(desk_client, patron, kind="waiver", fee=another_patrons_fee.pk)

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


def test_a_form_sent_again_with_another_amount_says_nothing_more_was_done(desk_client, patron):
    token = str(uuid.uuid4())
    book(desk_client, patron, kind="credit_note", amount="5.00", submission=token, follow=True)

    response = book(
        desk_client, patron, kind="credit_note", amount="7.00", submission=token, follow=True
    )

    page = response.content.decode()
    assert "This form was sent before, so nothing more was done." in page
    assert "Booked." not in page
    assert [entry.amount_cents for entry in JournalEntry.objects.all()] == [-500]


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


def test_fee_choices_name_the_description_item_and_open_amount(desk_client, patron):
    FeeFactory(patron=patron, amount_cents=350, description="Overdue fine", item="The Hobbit")

    page = desk_client.get(url(patron)).content.decode()

    assert "Overdue fine \u2013 The Hobbit: 3.50 EUR open" in page


def test_counter_payment_offsets_the_fees_it_names_first(desk_client, patron):
    older = FeeFactory(patron=patron, amount_cents=500, description="Lost card")
    named = FeeFactory(patron=patron, amount_cents=300, description="Reminder")

    book(
        desk_client,
        patron,
        kind="counter_payment",
        amount="3.00",
        method="cash",
        for_fees=[named.pk],
    )
    settlement_run(business_date=timezone.localdate())

    payment = JournalEntry.objects.get(kind=EntryKind.PAYMENT)
    assert list(payment.for_fees.all()) == [named]
    named.refresh_from_db()
    older.refresh_from_db()
    assert named.cleared_in is not None
    assert older.cleared_in is None


def test_credit_note_names_the_fees_it_pays(desk_client, patron):
    FeeFactory(patron=patron, amount_cents=500)
    named = FeeFactory(patron=patron, amount_cents=200)

    book(desk_client, patron, kind="credit_note", amount="2.00", for_fees=[named.pk])

    credit_note = JournalEntry.objects.get(kind=EntryKind.CREDIT_NOTE)
    assert list(credit_note.for_fees.all()) == [named]


@pytest.mark.parametrize(
    ("fee_fixture", "amount"),
    [
        pytest.param("another_patrons_fee", "5.00", id="another-patrons-fee"),
        pytest.param("fee_offset_in_full", "3.00", id="fee-offset-in-full"),
    ],
)
def test_naming_a_fee_that_is_not_open_for_the_patron_is_refused(
    desk_client, patron, request, fee_fixture, amount
):
    fee = request.getfixturevalue(fee_fixture)
    payments = JournalEntry.objects.filter(kind=EntryKind.PAYMENT)
    payments_before = payments.count()

    response = book(
        desk_client,
        patron,
        kind="counter_payment",
        amount=amount,
        method="cash",
        for_fees=[fee.pk],
    )

    assert response.status_code == 400
    assert payments.count() == payments_before


def test_the_desk_service_refuses_a_fee_that_is_no_longer_open(staff, patron, fee_offset_in_full):
    with pytest.raises(ValidationError):
        perform(
            StaffAction.Kind.CREDIT_NOTE,
            patron,
            amount_cents=300,
            staff_user=staff,
            note="x",
            for_fees=[fee_offset_in_full],
        )
    assert not JournalEntry.objects.filter(kind=EntryKind.CREDIT_NOTE).exists()


def test_a_waiver_does_not_name_fees_it_pays(desk_client, patron):
    fee = FeeFactory(patron=patron)

    response = book(desk_client, patron, kind="waiver", fee=fee.pk, for_fees=[fee.pk])

    assert response.status_code == 400
    assert "Only a payment or a credit note pays named fees." in response.content.decode()
    assert not JournalEntry.objects.filter(kind=EntryKind.WAIVER).exists()


@pytest.mark.parametrize(
    ("language", "amount", "cents"),
    [
        pytest.param("de", "12,50", -1250, id="german-desk-decimal-comma"),
        pytest.param("en", "0,50", -50, id="english-desk-decimal-comma"),
        pytest.param("de", "0.50", -50, id="german-desk-decimal-point"),
    ],
)
def test_the_desk_reads_a_decimal_comma_or_point_in_either_language(
    desk_client, patron, language, amount, cents
):
    desk_client.post(reverse("set_language"), {"language": language})

    response = book(desk_client, patron, kind="credit_note", amount=amount)

    assert response.status_code == 302
    assert JournalEntry.objects.get().amount_cents == cents


@pytest.mark.parametrize("amount", ["1,500", "1.500", "1.234,50"])
def test_grouping_marks_are_refused_not_guessed(desk_client, patron, amount):
    response = book(desk_client, patron, kind="credit_note", amount=amount)

    assert response.status_code == 400
    assert not JournalEntry.objects.exists()


def test_an_amount_that_cannot_be_read_is_explained_once(desk_client, patron):
    response = book(desk_client, patron, kind="credit_note", amount="12 euros")

    page = response.content.decode()
    assert page.count("Enter the amount as a number, such as 12.50 or 12,50.") == 1
    assert "Enter the amount." not in page
    assert "Enter a number." not in page


def test_a_missing_amount_is_asked_for(desk_client, patron):
    response = book(desk_client, patron, kind="credit_note", amount="")

    assert response.status_code == 400
    assert "Enter the amount." in response.content.decode()


def test_open_fees_name_their_fee_type(desk_client, patron):
    FeeFactory(patron=patron, description="Torn cover", fee_type="lost_item")

    page = desk_client.get(url(patron)).content.decode()

    assert "Torn cover" in page
    assert "(Lost or damaged item)" in page
