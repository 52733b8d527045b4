"""How a settlement batch writes: PostgreSQL's array statements book exactly what the
portable ORM path books, once per batch, and earlier marks stay as they are."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fees.models import Allocation, EntryKind
from fees.settlement import settlement_run, store
from tests.factories import FeeFactory, JournalEntryFactory, PatronFactory, PaymentFactory
from tests.fees.settled import snapshot

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY_1 = TODAY - datetime.timedelta(days=2)
DAY_2 = TODAY - datetime.timedelta(days=1)


def a_day_with_carried_credit():
    """Four patrons: fees paid in full, in part, for chosen fees, waived, refunded, and
    credit carried from DAY_1 that pays DAY_2's fees."""
    patrons = [PatronFactory() for _ in range(4)]
    for index, patron in enumerate(patrons):
        FeeFactory(patron=patron, amount_cents=300 + index, business_date=DAY_1)
        PaymentFactory(patron=patron, amount_cents=-1000, business_date=DAY_1)
    settlement_run(business_date=DAY_1)
    for index, patron in enumerate(patrons):
        chosen = FeeFactory(patron=patron, amount_cents=400, business_date=DAY_2)
        waived = FeeFactory(patron=patron, amount_cents=250 + index, business_date=DAY_2)
        FeeFactory(patron=patron, amount_cents=900, business_date=DAY_2)
        payment = PaymentFactory(patron=patron, amount_cents=-350, business_date=DAY_2)
        payment.for_fees.set([chosen])
        JournalEntryFactory(
            patron=patron,
            kind=EntryKind.WAIVER,
            amount_cents=-(250 + index),
            target=waived,
            business_date=DAY_2,
        )
        JournalEntryFactory(
            patron=patron, kind=EntryKind.CREDIT_NOTE, amount_cents=-120, business_date=DAY_2
        )
        if index % 2:
            JournalEntryFactory(
                patron=patron, kind=EntryKind.REFUND, amount_cents=50, business_date=DAY_2
            )
    return patrons


@pytest.mark.postgres_only
def test_array_writes_book_exactly_what_the_portable_writes_book(monkeypatch):
    a_day_with_carried_credit()
    with transaction.atomic():
        settlement_run(business_date=DAY_2, batch_patrons=3)
        with_arrays = snapshot()
        transaction.set_rollback(True)

    monkeypatch.setattr(store, "_write_postgresql", store._write_portable)
    settlement_run(business_date=DAY_2, batch_patrons=3)

    assert snapshot() == with_arrays
    assert Allocation.objects.filter(settlement__business_date=DAY_2).count() > 8


@pytest.mark.postgres_only
def test_each_batch_writes_its_allocations_and_marks_with_one_statement_each():
    a_day_with_carried_credit()

    with CaptureQueriesContext(connection) as captured:
        settlement_run(business_date=DAY_2, batch_patrons=3)

    statements = [query["sql"] for query in captured.captured_queries]
    assert sum(s.startswith("INSERT INTO fees_allocation") for s in statements) == 2
    assert sum(s.startswith("UPDATE fees_journalentry") for s in statements) == 2


def test_an_entry_cleared_in_a_later_settlement_keeps_the_settlement_that_settled_it():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=300, business_date=DAY_1)
    payment = PaymentFactory(patron=patron, amount_cents=-1000, business_date=DAY_1)
    settlement_run(business_date=DAY_1)
    fee = FeeFactory(patron=patron, amount_cents=700, business_date=DAY_2)

    settlement_run(business_date=DAY_2)

    payment.refresh_from_db()
    fee.refresh_from_db()
    assert payment.settled_in.business_date == DAY_1
    assert payment.cleared_in.business_date == DAY_2
    assert fee.settled_in.business_date == DAY_2
    assert fee.cleared_in.business_date == DAY_2
