"""Booking rules: each service books the right sign, and refuses bad input writing nothing."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from fees import services
from fees.models import EntryKind, JournalEntry
from tests.factories import FeeFactory, PatronFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fee(patron):
    return FeeFactory(patron=patron, amount_cents=800)


def book_each_kind(patron, amount_cents, **extra):
    """Every service that takes a patron and an amount, called the same way."""
    return {
        "fee": lambda: services.fee_book(
            patron=patron, amount_cents=amount_cents, description="Fine", **extra
        ),
        "payment": lambda: services.payment_book(patron=patron, amount_cents=amount_cents, **extra),
        "credit_note": lambda: services.credit_note_book(
            patron=patron, amount_cents=amount_cents, note="Goodwill", **extra
        ),
        "refund": lambda: services.refund_book(patron=patron, amount_cents=amount_cents, **extra),
    }


def assert_refused(book, code):
    before = JournalEntry.objects.count()
    with pytest.raises(ValidationError) as error:
        book()
    assert error.value.code == code
    assert error.value.messages[0]
    assert JournalEntry.objects.count() == before


def test_fee_is_booked_positive_on_todays_business_date(patron):
    entry = services.fee_book(patron=patron, amount_cents=250, description="Overdue fine")

    assert (entry.kind, entry.amount_cents, entry.currency) == (EntryKind.FEE, 250, "EUR")
    assert entry.business_date == timezone.localdate()


def test_payment_is_booked_negative_with_the_fees_it_was_made_for(patron, fee):
    entry = services.payment_book(patron=patron, amount_cents=800, for_fees=[fee], method="cash")

    assert entry.amount_cents == -800
    assert list(entry.for_fees.all()) == [fee]


def test_credit_note_is_booked_negative(patron):
    entry = services.credit_note_book(patron=patron, amount_cents=300, note="Goodwill")

    assert (entry.kind, entry.amount_cents) == (EntryKind.CREDIT_NOTE, -300)


def test_waiver_defaults_to_the_fees_open_amount(fee):
    entry = services.waiver_book(fee=fee, note="First time")

    assert (entry.kind, entry.amount_cents, entry.target) == (EntryKind.WAIVER, -800, fee)


def test_refund_of_credit_is_booked_positive(patron):
    services.credit_note_book(patron=patron, amount_cents=500, note="Overcharged")

    entry = services.refund_book(patron=patron, amount_cents=500, method="cash")

    assert (entry.kind, entry.amount_cents) == (EntryKind.REFUND, 500)


def test_reversal_books_the_payment_amount_again(patron):
    payment = services.payment_book(patron=patron, amount_cents=700, reference="ABC")

    (entry,) = services.reversal_book(payment=payment, reference="dispute_1")

    assert (entry.kind, entry.amount_cents, entry.target) == (EntryKind.REVERSAL, 700, payment)


@pytest.mark.parametrize("kind", ["fee", "payment", "credit_note", "refund"])
@pytest.mark.parametrize("amount", [0, -100])
def test_zero_or_negative_amounts_are_refused(patron, kind, amount):
    assert_refused(book_each_kind(patron, amount)[kind], "not_positive")


@pytest.mark.parametrize("kind", ["fee", "payment", "credit_note", "refund"])
@pytest.mark.parametrize("amount", [12.5, "1250", True])
def test_amounts_that_are_not_whole_cents_are_refused(patron, kind, amount):
    assert_refused(book_each_kind(patron, amount)[kind], "invalid")


@pytest.mark.parametrize("kind", ["fee", "payment", "credit_note", "refund"])
def test_unknown_patron_is_refused(kind):
    ghost = PatronFactory.build(pk=987654)

    assert_refused(book_each_kind(ghost, 100)[kind], "unknown_patron")


@pytest.mark.parametrize("kind", ["fee", "payment", "credit_note", "refund"])
def test_other_currency_is_refused(patron, kind):
    assert_refused(book_each_kind(patron, 100, currency="USD")[kind], "wrong_currency")


def test_waiver_larger_than_the_open_amount_is_refused(fee):
    assert_refused(
        lambda: services.waiver_book(fee=fee, amount_cents=801, note="x"), "exceeds_open"
    )


def test_waiver_counts_waivers_not_yet_settled(fee):
    services.waiver_book(fee=fee, amount_cents=500, note="Part")

    assert_refused(
        lambda: services.waiver_book(fee=fee, amount_cents=301, note="x"), "exceeds_open"
    )


def test_waiver_of_a_fully_waived_fee_is_refused(fee):
    services.waiver_book(fee=fee, note="All")

    assert_refused(lambda: services.waiver_book(fee=fee, note="Again"), "nothing_open")


def test_waiver_of_a_payment_is_refused(patron):
    payment = services.payment_book(patron=patron, amount_cents=100)

    assert_refused(lambda: services.waiver_book(fee=payment, note="x"), "not_a_fee")


def test_waiver_without_reason_is_refused(fee):
    assert_refused(lambda: services.waiver_book(fee=fee, note=" "), "required")


def test_refund_beyond_the_patrons_credit_is_refused(patron):
    services.credit_note_book(patron=patron, amount_cents=500, note="Overcharged")

    assert_refused(lambda: services.refund_book(patron=patron, amount_cents=501), "exceeds_credit")


def test_refund_without_credit_is_refused(patron, fee):
    assert_refused(lambda: services.refund_book(patron=patron, amount_cents=100), "exceeds_credit")


def test_payment_for_another_patrons_fee_is_refused(patron):
    someone_elses = FeeFactory()

    assert_refused(
        lambda: services.payment_book(patron=patron, amount_cents=500, for_fees=[someone_elses]),
        "foreign_fee",
    )


def test_payment_for_an_entry_that_is_no_fee_is_refused(patron):
    earlier_payment = services.payment_book(patron=patron, amount_cents=300)

    assert_refused(
        lambda: services.payment_book(patron=patron, amount_cents=500, for_fees=[earlier_payment]),
        "foreign_fee",
    )


def test_payment_for_a_fee_never_booked_is_refused(patron):
    unsaved = FeeFactory.build(patron=patron)

    assert_refused(
        lambda: services.payment_book(patron=patron, amount_cents=500, for_fees=[unsaved]),
        "foreign_fee",
    )


def test_payment_booked_with_the_patrons_lock_held_still_refuses_a_foreign_fee(patron):
    someone_elses = FeeFactory()

    assert_refused(
        lambda: services.payment_book(
            patron=patron, amount_cents=500, for_fees=[someone_elses], patron_locked=True
        ),
        "foreign_fee",
    )


def test_reversal_beyond_the_payment_is_refused(patron):
    payment = services.payment_book(patron=patron, amount_cents=700)
    services.reversal_book(payment=payment, amount_cents=500)

    assert_refused(
        lambda: services.reversal_book(payment=payment, amount_cents=201), "exceeds_payment"
    )


def test_reversal_of_a_fee_is_refused(fee):
    assert_refused(lambda: services.reversal_book(payment=fee), "not_a_payment")


def test_fee_without_description_is_refused(patron):
    assert_refused(
        lambda: services.fee_book(patron=patron, amount_cents=100, description=""), "required"
    )


def test_fee_of_unknown_type_is_refused(patron):
    assert_refused(
        lambda: services.fee_book(
            patron=patron, amount_cents=100, description="x", fee_type="bogus"
        ),
        "invalid_fee_type",
    )


@pytest.mark.parametrize(
    ("kind", "amount_cents"),
    [("fee", -100), ("payment", 100), ("waiver", 100), ("refund", -1), ("fee", 0)],
)
def test_database_refuses_a_sign_that_does_not_match_the_kind(patron, kind, amount_cents):
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(
            patron=patron,
            kind=kind,
            amount_cents=amount_cents,
            currency="EUR",
            business_date=timezone.localdate(),
        )


def test_database_refuses_to_change_an_amount(fee):
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=fee.pk).update(amount_cents=1)

    fee.refresh_from_db()
    assert fee.amount_cents == 800


def test_database_refuses_to_change_a_description(fee):
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=fee.pk).update(description="rewritten history")


def test_database_refuses_to_move_an_entry_to_another_settlement(fee):
    from fees.models import Settlement

    first = Settlement.objects.create(business_date=datetime.date(2026, 1, 1))
    second = Settlement.objects.create(business_date=datetime.date(2026, 1, 2))
    JournalEntry.objects.filter(pk=fee.pk).update(settled_in=first)

    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=fee.pk).update(settled_in=second)


@pytest.mark.postgres_only
def test_database_refuses_to_delete_an_entry(fee):
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=fee.pk).delete()

    assert JournalEntry.objects.filter(pk=fee.pk).exists()
