"""Concurrent writers, on real threads with their own database connections."""

import datetime
import threading

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from fees import selectors, services
from fees.models import Allocation, EntryKind, JournalEntry
from fees.settlement import SettlementInProgress, settlement_run
from tests.factories import FeeFactory, PatronFactory, PaymentFactory
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def test_eight_threads_booking_payments_for_one_patron_sum_exactly():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=10_000)

    results = run_in_threads(
        8,
        lambda i: services.payment_book(
            patron=patron, amount_cents=100 + i, reference=f"thread-{i}"
        ),
        catch=Exception,
    )

    assert all(isinstance(result, JournalEntry) for result in results), results
    payments = JournalEntry.objects.filter(patron=patron, kind=EntryKind.PAYMENT)
    assert sorted(payments.values_list("reference", flat=True)) == [f"thread-{i}" for i in range(8)]
    assert selectors.balance_cents(patron=patron) == 10_000 - sum(100 + i for i in range(8))


def test_two_settlements_at_once_only_one_does_the_work(monkeypatch):
    patrons = [PatronFactory() for _ in range(6)]
    for patron in patrons:
        FeeFactory(patron=patron, amount_cents=300, business_date=YESTERDAY)
        PaymentFactory(patron=patron, amount_cents=-200, business_date=YESTERDAY)

    def slow_progress(done, total):
        threading.Event().wait(0.05)

    results = run_in_threads(
        2,
        lambda i: settlement_run(business_date=YESTERDAY, batch_patrons=1, progress=slow_progress),
        catch=Exception,
    )

    workers = [r for r in results if not isinstance(r, Exception) and r.did_work]
    others = [r for r in results if r not in workers]
    assert len(workers) == 1, results
    assert len(others) == 1
    assert isinstance(others[0], SettlementInProgress) or not others[0].did_work
    pairs = Allocation.objects.values("credit", "debit").annotate(n=Count("id"))
    assert [pair["n"] for pair in pairs] == [1] * 6
    assert Allocation.objects.aggregate(total=Sum("amount_cents"))["total"] == 6 * 200


def test_bookings_during_a_settlement_are_neither_lost_nor_settled_twice():
    patrons = [PatronFactory() for _ in range(10)]
    for patron in patrons:
        FeeFactory(patron=patron, amount_cents=500, business_date=YESTERDAY)
        PaymentFactory(patron=patron, amount_cents=-500, business_date=YESTERDAY)

    def work(index):
        if index == 0:
            return settlement_run(business_date=YESTERDAY, batch_patrons=2)
        return [
            services.payment_book(patron=patron, amount_cents=100 + index) for patron in patrons
        ]

    results = run_in_threads(4, work, catch=Exception)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Allocation.objects.count() == 10
    # Bookings made today wait for tomorrow's settlement, whatever the interleaving.
    today = JournalEntry.objects.filter(business_date=timezone.localdate())
    assert today.count() == 30
    assert not today.filter(settled_in__isnull=False).exists()
