"""The library system corrects, cancels and re-sends its fees: always a new entry."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from fees import services
from fees.corrections import (
    FeeOfAnotherPatron,
    charged_cents,
    fee_cancel,
    fee_correct,
    fees_sync,
)
from fees.models import Allocation, EntryKind, JournalEntry
from fees.selectors import (
    balance_cents,
    fee_groups,
    fee_unpaid_cents,
    patron_credit_cents,
    unpaid_cents,
)
from fees.settlement import settlement_run
from payments import services as orders
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db

SYSTEM = "koha"


def library_fee(patron, external_id="L-1", amount_cents=1000):
    return services.fee_book(
        patron=patron, amount_cents=amount_cents, description="Lost item",
        source_system=SYSTEM, external_id=external_id, external_type="LOST",
    )  # fmt: skip


def unpaid_of(fee):
    return fee_unpaid_cents(fee_groups(fee.patron_id)[fee.pk], unpaid_cents(fee.patron_id))


def allocations_of(payment):
    return dict(Allocation.objects.filter(credit=payment).values_list("debit_id", "amount_cents"))


def settle_today():
    settlement_run(business_date=timezone.localdate())


def settle_today_again():
    """The next day's settlement takes what today booked after today's run."""
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        settlement_run(business_date=timezone.localdate())


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


def test_cancelling_a_partly_paid_fee_makes_what_was_paid_the_patrons_credit(patron):
    fee = library_fee(patron)
    services.payment_book(patron=patron, amount_cents=400, for_fees=[fee], method="cash")

    result = fee_cancel(fee=fee, note="lost item found")

    assert [entry.amount_cents for entry in result.entries] == [-600, -400]
    assert result.already_paid_cents == 400
    assert charged_cents(fee) == 0
    assert balance_cents(patron=patron) == -400


def test_cancelling_a_fee_paid_in_full_makes_all_of_it_credit(patron):
    fee = library_fee(patron)
    services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee], method="cash")

    result = fee_cancel(fee=fee, note="lost item found")

    assert result.already_paid_cents == 1000
    assert balance_cents(patron=patron) == -1000


def test_cancelling_a_raised_fee_cancels_its_increase_too(patron):
    fee = library_fee(patron)
    fee_correct(fee=fee, amount_cents=1500, note="replacement cost")
    services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee], method="card")

    result = fee_cancel(fee=fee, note="lost item found")

    assert result.charged_before == 1500
    assert result.already_paid_cents == 1000
    assert charged_cents(fee) == 0
    assert balance_cents(patron=patron) == -1000
    assert unpaid_of(fee) == 0


def test_cancelling_a_fee_whose_payment_was_charged_back_cancels_what_is_owed_again(patron):
    fee = library_fee(patron)
    payment = services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee])
    services.reversal_book(payment=payment)

    result = fee_cancel(fee=fee, note="written off")

    assert result.already_paid_cents == 0
    assert balance_cents(patron=patron) == 0
    assert unpaid_of(fee) == 0


def test_a_charged_back_payment_no_longer_pays_the_fee(patron):
    fee = library_fee(patron)
    payment = services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee])

    services.reversal_book(payment=payment, amount_cents=600)

    assert unpaid_of(fee) == 600


@pytest.mark.parametrize("pay_first", [True, False], ids=["paid-then-lowered", "lowered-then-paid"])
def test_lowering_a_paid_fee_makes_what_was_paid_beyond_it_credit(patron, pay_first):
    fee = library_fee(patron)
    order = orders.order_create(patron=patron, fee_ids=[fee.pk])
    pay = lambda: services.payment_book(  # noqa: E731
        patron=patron, amount_cents=order.amount_cents, for_fees=[fee], method="card"
    )
    if pay_first:
        pay()
    result = fee_correct(fee=fee, amount_cents=400, note="price list")
    if not pay_first:
        pay()

    assert balance_cents(patron=patron) == -600
    assert charged_cents(fee) == 400
    if pay_first:
        assert result.already_paid_cents == 600


def test_lowering_a_paid_fee_then_settling_leaves_the_credit_and_the_payment_as_told(patron):
    fee = library_fee(patron)
    payment = services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee])
    fee_correct(fee=fee, amount_cents=400, note="price list")

    settle_today()

    assert allocations_of(payment) == {fee.pk: 1000}
    assert patron_credit_cents(patron=patron) == 600


def test_cancelling_twice_books_once(patron):
    fee = library_fee(patron)
    fee_cancel(fee=fee, note="written off")

    again = fee_cancel(fee=fee, note="written off")

    assert again.booked is None
    assert JournalEntry.objects.filter(kind=EntryKind.REDUCTION).count() == 1


def test_a_correction_of_an_entry_that_is_no_fee_is_refused(patron):
    library_fee(patron)
    payment = services.payment_book(patron=patron, amount_cents=100, method="cash")

    with pytest.raises(ValidationError):
        fee_correct(fee=payment, amount_cents=0, note="typo")


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


def test_sync_writes_off_only_what_is_unpaid_of_a_vanished_fee(patron):
    fee = library_fee(patron)
    services.payment_book(patron=patron, amount_cents=400, for_fees=[fee], method="cash")

    (written_off,) = fees_sync(patron=patron, system=SYSTEM, fees=[]).cancelled

    assert written_off.fee == fee and written_off.booked.amount_cents == -600
    assert balance_cents(patron=patron) == 0


def test_sync_naming_a_fee_of_another_patron_is_refused_and_changes_nothing(patron):
    library_fee(PatronFactory(), external_id="L-7")
    before = kinds(patron)

    with pytest.raises(FeeOfAnotherPatron) as refused:
        fees_sync(patron=patron, system=SYSTEM, fees=[sync_item("L-1", 100), sync_item("L-7", 50)])

    assert refused.value.fee_id == "L-7" and "L-7" in refused.value.messages[0]
    assert kinds(patron) == before


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


def test_a_fee_lowered_after_it_was_paid_and_then_charged_back_asks_for_its_new_amount(patron):
    fee = library_fee(patron)
    payment = services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee])
    fee_correct(fee=fee, amount_cents=400, note="price list")

    services.reversal_book(payment=payment)

    assert unpaid_of(fee) == 400
    assert balance_cents(patron=patron) == 400


def test_after_the_settlement_a_reduction_on_a_paid_fee_goes_to_its_reversal(patron):
    fee = library_fee(patron)
    older = services.fee_book(patron=patron, amount_cents=300, description="older")
    payment = services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee])
    settle_today()
    fee_correct(fee=fee, amount_cents=400, note="price list")
    services.reversal_book(payment=payment)

    settle_today_again()

    assert unpaid_of(fee) == 400
    assert unpaid_cents(patron.pk)[older.pk] == 300


def test_a_chargeback_after_the_credit_of_a_lowered_fee_was_spent_asks_no_more_than_it(patron):
    older = services.fee_book(patron=patron, amount_cents=1000, description="older")
    fee = library_fee(patron)
    payment = services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee])
    settle_today()
    fee_correct(fee=fee, amount_cents=400, note="price list")
    settle_today_again()  # the 6.00 paid beyond it pays the older fee

    services.reversal_book(payment=payment)

    assert unpaid_of(fee) == 400
    assert unpaid_cents(patron.pk)[older.pk] == 400
    assert balance_cents(patron=patron) == 400 + 400 + 600  # the credit spent is owed again
