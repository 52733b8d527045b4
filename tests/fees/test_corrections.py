"""The library system corrects, cancels and re-sends its fees: always a new entry."""

import pytest
from django.core.exceptions import ValidationError

from fees import services
from fees.corrections import charged_cents, fee_cancel, fee_correct, fees_sync
from fees.models import EntryKind, JournalEntry
from fees.selectors import balance_cents
from payments import services as orders
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db

SYSTEM = "koha"


@pytest.fixture
def patron():
    return PatronFactory()


def library_fee(patron, external_id="L-1", amount_cents=1000):
    return services.fee_book(
        patron=patron, amount_cents=amount_cents, description="Lost item",
        source_system=SYSTEM, external_id=external_id, external_type="LOST",
    )  # fmt: skip


def kinds(patron):
    return list(JournalEntry.objects.filter(patron=patron).values_list("kind", "amount_cents"))


def test_lowering_a_fee_books_a_reduction_and_leaves_the_fee_as_it_was(patron):
    fee = library_fee(patron)

    result = fee_correct(fee=fee, amount_cents=600, note="price list")

    fee.refresh_from_db()
    assert fee.amount_cents == 1000
    assert result.booked.kind == EntryKind.REDUCTION and result.booked.amount_cents == -400
    assert charged_cents(fee) == 600 and balance_cents(patron=patron) == 600


def test_raising_a_fee_books_an_increase_of_that_fee(patron):
    fee = library_fee(patron)

    result = fee_correct(fee=fee, amount_cents=1500, note="replacement cost")

    assert result.booked.kind == EntryKind.FEE and result.booked.target == fee
    assert charged_cents(fee) == 1500


def test_setting_the_amount_a_fee_has_changes_nothing(patron):
    fee = library_fee(patron)
    before = kinds(patron)

    result = fee_correct(fee=fee, amount_cents=1000, note="again")

    assert result.booked is None and kinds(patron) == before


def test_cancelling_reduces_what_is_unpaid_and_money_received_stays_paid(patron):
    fee = library_fee(patron)
    services.payment_book(patron=patron, amount_cents=400, for_fees=[fee], method="cash")

    result = fee_cancel(fee=fee, note="lost item found")

    assert result.booked.amount_cents == -600
    assert result.already_paid_cents == 400
    assert balance_cents(patron=patron) == 0


def test_cancelling_a_fee_paid_in_full_books_nothing(patron):
    fee = library_fee(patron)
    services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee], method="cash")

    result = fee_cancel(fee=fee, note="written off")

    assert result.booked is None and result.already_paid_cents == 1000


def test_cancelling_twice_books_once(patron):
    fee = library_fee(patron)
    fee_cancel(fee=fee, note="written off")

    again = fee_cancel(fee=fee, note="written off")

    assert again.booked is None
    assert JournalEntry.objects.filter(kind=EntryKind.REDUCTION).count() == 1


def test_a_fee_in_an_online_payment_in_progress_is_corrected_and_says_so(patron):
    fee = library_fee(patron)
    orders.order_create(patron=patron, fee_ids=[fee.pk])

    result = fee_correct(fee=fee, amount_cents=700, note="price list")

    assert result.in_open_order and result.booked.amount_cents == -300


def test_a_negative_amount_is_refused_and_changes_nothing(patron):
    fee = library_fee(patron)
    before = kinds(patron)

    with pytest.raises(ValidationError):
        fee_correct(fee=fee, amount_cents=-1, note="typo")

    assert kinds(patron) == before


def sync_item(fee_id, amount_cents, **extra):
    return {"fee_id": fee_id, "amount_cents": amount_cents, "currency": "EUR",
            "description": "Overdue fine"} | extra  # fmt: skip


def test_sync_books_new_fees_corrects_changed_ones_and_cancels_vanished_ones(patron):
    kept, changed, vanished = (library_fee(patron, f"L-{n}") for n in (1, 2, 3))

    result = fees_sync(
        patron=patron, system=SYSTEM,
        fees=[sync_item("L-1", 1000), sync_item("L-2", 250), sync_item("L-4", 80)],
    )  # fmt: skip

    assert [fee.external_id for fee in result.booked] == ["L-4"]
    assert [c.fee for c in result.corrected] == [changed]
    assert [c.fee for c in result.cancelled] == [vanished]
    assert result.unchanged == [kept]
    assert balance_cents(patron=patron) == 1000 + 250 + 80


def test_sync_does_not_cancel_a_vanished_fee_that_was_paid_here(patron):
    fee = library_fee(patron)
    services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee], method="cash")

    result = fees_sync(patron=patron, system=SYSTEM, fees=[])

    assert result.cancelled == []
    assert balance_cents(patron=patron) == 0


def test_sync_leaves_fees_of_other_systems_alone(patron):
    other = services.fee_book(
        patron=patron, amount_cents=500, description="Aleph fee",
        source_system="aleph", external_id="L-1",
    )  # fmt: skip

    fees_sync(patron=patron, system=SYSTEM, fees=[])

    assert charged_cents(other) == 500


def test_sync_sending_the_same_set_twice_changes_nothing_the_second_time(patron):
    items = [sync_item("L-1", 1000), sync_item("L-2", 300)]
    fees_sync(patron=patron, system=SYSTEM, fees=items)
    before = kinds(patron)

    result = fees_sync(patron=patron, system=SYSTEM, fees=items)

    assert kinds(patron) == before and len(result.unchanged) == 2


def test_sync_with_a_fee_id_twice_is_refused_and_changes_nothing(patron):
    library_fee(patron)
    before = kinds(patron)

    with pytest.raises(ValidationError):
        fees_sync(patron=patron, system=SYSTEM,
                  fees=[sync_item("L-9", 100), sync_item("L-9", 200)])  # fmt: skip

    assert kinds(patron) == before


def test_sync_in_another_currency_is_refused_and_changes_nothing(patron):
    with pytest.raises(ValidationError):
        fees_sync(patron=patron, system=SYSTEM, fees=[sync_item("L-1", 100, currency="USD")])

    assert kinds(patron) == []
