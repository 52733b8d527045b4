"""The daily settlement: allocation order, carried credit, refunds, reruns and crashes."""

import datetime

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fees import selectors, services, settlement
from fees.models import Allocation, EntryKind, JournalEntry, Settlement
from fees.settlement import SettlementError, settlement_run
from tests.factories import FeeFactory, JournalEntryFactory, PatronFactory, PaymentFactory
from tests.fees.settled import snapshot

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY_1 = TODAY - datetime.timedelta(days=3)
DAY_2 = TODAY - datetime.timedelta(days=2)
DAY_3 = TODAY - datetime.timedelta(days=1)


def allocations_of(entry):
    return {
        (allocation.debit_id, allocation.amount_cents)
        for allocation in Allocation.objects.filter(credit=entry)
    }


def open_of(fee):
    return selectors.open_fees(patron=fee.patron).get(pk=fee.pk).open_cents


def _cleared(entry):
    entry.refresh_from_db()
    return entry.cleared_in_id is not None


def test_payment_offsets_the_fees_it_was_made_for_before_older_ones(patron):
    oldest = FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    chosen = FeeFactory(patron=patron, amount_cents=500, business_date=DAY_1)
    payment = PaymentFactory(patron=patron, amount_cents=-500, business_date=DAY_2)
    payment.for_fees.set([chosen])

    settlement_run(business_date=DAY_2)

    assert allocations_of(payment) == {(chosen.pk, 500)}
    assert _cleared(chosen)
    assert not _cleared(oldest)


def test_credit_offsets_the_oldest_fee_first(patron):
    older = FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    newer = FeeFactory(patron=patron, amount_cents=500, business_date=DAY_2)
    payment = PaymentFactory(patron=patron, amount_cents=-400, business_date=DAY_2)

    settlement_run(business_date=DAY_2)

    assert allocations_of(payment) == {(older.pk, 300), (newer.pk, 100)}
    assert _cleared(older)
    assert open_of(newer) == 400


def test_payment_for_some_fees_spills_over_to_the_oldest_remaining(patron):
    oldest = FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    chosen = FeeFactory(patron=patron, amount_cents=500, business_date=DAY_1)
    payment = PaymentFactory(patron=patron, amount_cents=-600, business_date=DAY_2)
    payment.for_fees.set([chosen])

    settlement_run(business_date=DAY_2)

    assert allocations_of(payment) == {(chosen.pk, 500), (oldest.pk, 100)}


def test_waiver_offsets_the_fee_it_waives(patron):
    FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    waived = FeeFactory(patron=patron, amount_cents=500, business_date=DAY_1)
    waiver = JournalEntryFactory(
        patron=patron, kind=EntryKind.WAIVER, amount_cents=-500, target=waived, business_date=DAY_2
    )

    settlement_run(business_date=DAY_2)

    assert allocations_of(waiver) == {(waived.pk, 500)}


def test_waiver_lands_on_its_fee_even_when_a_payment_was_booked_first(patron):
    older = FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    waived = FeeFactory(patron=patron, amount_cents=500, business_date=DAY_1)
    payment = PaymentFactory(patron=patron, amount_cents=-800, business_date=DAY_2)
    waiver = JournalEntryFactory(
        patron=patron, kind=EntryKind.WAIVER, amount_cents=-500, target=waived, business_date=DAY_2
    )

    settlement_run(business_date=DAY_2)

    assert allocations_of(waiver) == {(waived.pk, 500)}
    assert allocations_of(payment) == {(older.pk, 300)}
    assert selectors.patron_credit_cents(patron=patron) == 500


def test_leftover_credit_is_carried_to_a_later_settlement(patron):
    FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    payment = PaymentFactory(patron=patron, amount_cents=-1000, business_date=DAY_1)
    settlement_run(business_date=DAY_1)
    assert selectors.patron_credit_cents(patron=patron) == 700

    new_fee = FeeFactory(patron=patron, amount_cents=500, business_date=DAY_2)
    settlement_run(business_date=DAY_2)

    assert (new_fee.pk, 500) in allocations_of(payment)
    assert _cleared(new_fee)
    assert selectors.patron_credit_cents(patron=patron) == 200
    assert not _cleared(payment)


def test_refund_consumes_credit(patron):
    FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    payment = PaymentFactory(patron=patron, amount_cents=-1000, business_date=DAY_1)
    settlement_run(business_date=DAY_1)

    refund = JournalEntryFactory(
        patron=patron, kind=EntryKind.REFUND, amount_cents=700, business_date=DAY_2
    )
    settlement_run(business_date=DAY_2)

    assert (refund.pk, 700) in allocations_of(payment)
    assert _cleared(refund)
    assert _cleared(payment)
    assert selectors.patron_credit_cents(patron=patron) == 0
    assert selectors.balance_cents(patron=patron) == 0


def test_reversed_payment_is_owed_again_after_settlement(patron):
    fee = FeeFactory(patron=patron, amount_cents=500, business_date=DAY_1)
    payment = PaymentFactory(patron=patron, amount_cents=-500, business_date=DAY_1)
    payment.for_fees.set([fee])
    settlement_run(business_date=DAY_1)

    reversal = JournalEntryFactory(
        patron=patron,
        kind=EntryKind.REVERSAL,
        amount_cents=500,
        target=payment,
        business_date=DAY_2,
    )
    settlement_run(business_date=DAY_2)

    assert [(f.pk, f.open_cents) for f in selectors.open_fees(patron=patron)] == [
        (reversal.pk, 500)
    ]
    assert selectors.balance_cents(patron=patron) == 500


def test_second_run_for_the_same_date_changes_nothing(patron):
    FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    PaymentFactory(patron=patron, amount_cents=-300, business_date=DAY_1)
    first = settlement_run(business_date=DAY_1)
    late = PaymentFactory(patron=patron, amount_cents=-100, business_date=DAY_1)

    second = settlement_run(business_date=DAY_1)

    assert first.did_work and not second.did_work
    assert Allocation.objects.count() == 1
    assert Settlement.objects.count() == 1
    late.refresh_from_db()
    assert late.settled_in is None


def test_entry_booked_late_for_a_settled_day_is_settled_the_next_day(patron):
    settlement_run(business_date=DAY_1)
    late = PaymentFactory(patron=patron, amount_cents=-100, business_date=DAY_1)

    settlement_run(business_date=DAY_2)

    late.refresh_from_db()
    assert late.settled_in.business_date == DAY_2


def test_entries_after_the_business_date_are_left_for_later(patron):
    FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    later = PaymentFactory(patron=patron, amount_cents=-300, business_date=DAY_2)

    settlement_run(business_date=DAY_1)

    later.refresh_from_db()
    assert later.settled_in is None
    assert Allocation.objects.count() == 0


def test_a_date_before_the_last_settlement_is_refused(patron):
    settlement_run(business_date=DAY_2)

    with pytest.raises(SettlementError, match="already settled"):
        settlement_run(business_date=DAY_1)
    assert not Settlement.objects.filter(business_date=DAY_1).exists()


def test_a_future_date_is_refused():
    with pytest.raises(SettlementError, match="future"):
        settlement_run(business_date=TODAY + datetime.timedelta(days=1))
    assert not Settlement.objects.exists()


def test_summary_counts_and_totals_match_the_journal(patron):
    fee = FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    FeeFactory(patron=patron, amount_cents=900, business_date=DAY_1)
    PaymentFactory(patron=patron, amount_cents=-1000, business_date=DAY_1).for_fees.set([fee])

    report = settlement_run(business_date=DAY_1)

    s = report.settlement
    assert (s.entries_settled, s.allocations_made) == (3, 2)
    assert (s.debits_cents, s.credits_cents, s.allocated_cents) == (1200, 1000, 1000)
    assert s.is_finished
    assert "3 entries settled" in report.summary()
    assert "2 allocations made (10.00 EUR offset)" in report.summary()


def test_no_fee_is_ever_offset_beyond_its_amount(patron):
    fees = [FeeFactory(patron=patron, amount_cents=c, business_date=DAY_1) for c in (100, 250, 75)]
    for cents in (120, 90, 400):
        PaymentFactory(patron=patron, amount_cents=-cents, business_date=DAY_1)

    settlement_run(business_date=DAY_1)

    for fee in fees:
        allocated = fee.allocations_received.aggregate(total=Sum("amount_cents"))["total"]
        assert allocated == fee.amount_cents
    assert selectors.patron_credit_cents(patron=patron) == 610 - 425


def test_batches_reach_the_same_allocations_as_a_single_batch():
    patrons = [PatronFactory() for _ in range(5)]
    for index, patron in enumerate(patrons):
        FeeFactory(patron=patron, amount_cents=100 + index, business_date=DAY_1)
        PaymentFactory(patron=patron, amount_cents=-150, business_date=DAY_1)

    settlement_run(business_date=DAY_1, batch_patrons=2)

    assert Allocation.objects.count() == 5
    assert JournalEntry.objects.filter(settled_in__isnull=True).count() == 0
    assert sum(selectors.patron_credit_cents(patron=p) for p in patrons) == 5 * 150 - 510


def test_query_count_does_not_grow_with_the_number_of_entries():
    def day_with(entries_per_patron, business_date):
        for _ in range(3):
            patron = PatronFactory()
            for _ in range(entries_per_patron):
                FeeFactory(patron=patron, amount_cents=100, business_date=business_date)
                PaymentFactory(patron=patron, amount_cents=-60, business_date=business_date)

    day_with(2, DAY_1)
    with CaptureQueriesContext(connection) as small:
        settlement_run(business_date=DAY_1)
    day_with(40, DAY_2)
    with CaptureQueriesContext(connection) as large:
        settlement_run(business_date=DAY_2)

    assert len(large.captured_queries) == len(small.captured_queries)


def test_rerun_after_a_crash_part_way_reaches_the_uninterrupted_end_state(monkeypatch):
    patrons = [PatronFactory() for _ in range(6)]
    for index, patron in enumerate(patrons):
        fee = FeeFactory(patron=patron, amount_cents=200 + index, business_date=DAY_1)
        FeeFactory(patron=patron, amount_cents=50, business_date=DAY_1)
        PaymentFactory(patron=patron, amount_cents=-220, business_date=DAY_1).for_fees.set([fee])

    with transaction.atomic():
        settlement_run(business_date=DAY_1, batch_patrons=2)
        uninterrupted = snapshot()
        transaction.set_rollback(True)
    assert not Allocation.objects.exists()

    real_settle_batch = settlement._settle_batch
    calls = []

    def crash_on_second_batch(*args, **kwargs):
        calls.append(1)
        real_settle_batch(*args, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("power cut")

    monkeypatch.setattr(settlement, "_settle_batch", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        settlement_run(business_date=DAY_1, batch_patrons=2)
    monkeypatch.undo()
    partial = snapshot()
    assert partial != uninterrupted

    report = settlement_run(business_date=DAY_1, batch_patrons=2)

    assert report.did_work
    assert snapshot() == uninterrupted


@pytest.mark.postgres_only
def test_an_unfinished_settlement_must_be_rerun_before_a_later_date(monkeypatch, patron):
    """Only PostgreSQL commits batch by batch; on SQLite a crash rolls the whole run back."""
    PaymentFactory(patron=patron, amount_cents=-100, business_date=DAY_1)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(settlement, "_settle_batch", crash)
    with pytest.raises(RuntimeError):
        settlement_run(business_date=DAY_1)
    monkeypatch.undo()

    with pytest.raises(SettlementError, match="did not finish"):
        settlement_run(business_date=DAY_2)


def test_services_and_settlement_agree_on_a_day_at_the_desk(patron):
    """A day of counter work booked through the services, settled at night."""
    fine = services.fee_book(patron=patron, amount_cents=500, description="Overdue fine")
    lost = services.fee_book(patron=patron, amount_cents=2000, description="Lost book")
    services.waiver_book(fee=fine, note="First time")
    services.payment_book(patron=patron, amount_cents=2500, for_fees=[lost], method="cash")
    services.refund_book(patron=patron, amount_cents=500, method="cash", note="Overpaid")

    settlement_run(business_date=TODAY)

    assert list(selectors.open_fees(patron=patron)) == []
    assert selectors.balance_cents(patron=patron) == 0
    assert selectors.patron_credit_cents(patron=patron) == 0
    assert JournalEntry.objects.filter(patron=patron, cleared_in__isnull=True).count() == 0


def test_a_payment_is_offset_as_its_shares_say_when_the_order_holding_a_fee_ended(patron):
    from payments import services as orders

    held = FeeFactory(patron=patron, amount_cents=500, business_date=TODAY)
    free = FeeFactory(patron=patron, amount_cents=500, business_date=TODAY)
    order = orders.order_create(patron=patron, fee_ids=[held.pk])
    counter = services.payment_book(patron=patron, amount_cents=500, method="cash")
    orders.order_abandon(order=order, patron=patron)

    settlement_run(business_date=TODAY)

    assert allocations_of(counter) == {(free.pk, 500)}
    assert open_of(held) == 500
