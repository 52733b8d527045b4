"""The library system's corrections and whole-set syncs racing payments, refunds of credit
and the settlement for the same fees, on real threads (PostgreSQL): whatever the
interleaving, a fee charges what the library system last said, no fee asks for more, and
what was paid beyond a fee is the patron's credit."""

import datetime
import random
from contextlib import suppress

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from fees import selectors, services
from fees.corrections import fee_correct, fees_sync
from fees.models import Allocation, EntryKind, JournalEntry, PaymentShare
from fees.settlement import SettlementInProgress, settlement_run
from payments import services as orders
from payments.models import EventSource, OrderStatus
from tests.factories import PatronFactory
from tests.threads import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

SYSTEM = "koha"
ROUNDS = 25


def sync(patron, amounts):
    fees_sync(
        patron=patron, system=SYSTEM,
        fees=[{"fee_id": fee_id, "amount_cents": cents, "currency": "EUR",
               "description": "Lost item"} for fee_id, cents in amounts.items()],
    )  # fmt: skip


def library_fees(patron):
    return list(JournalEntry.objects.filter(patron=patron, kind="fee", source_system=SYSTEM))


def test_corrections_racing_payments_and_the_settlement_leave_each_fee_as_last_said():
    patron = PatronFactory()
    said = {"L-1": 1000, "L-2": 700, "L-3": 400}
    sync(patron, said)
    rng = random.Random(7)
    plan = [{fee_id: rng.randrange(0, 1500, 50) for fee_id in said} for _round in range(ROUNDS)]

    def library(_index):
        for round_amounts in plan:
            if rng.random() < 0.5:
                sync(patron, round_amounts)
            else:
                for fee in library_fees(patron):
                    fee_correct(fee=fee, amount_cents=round_amounts[fee.external_id], note="")

    def online(_index):
        for _round in range(ROUNDS):
            fees = [fee.pk for fee in selectors.fees_unpaid(patron.pk) if fee.unpaid_cents]
            try:
                order = orders.order_create(patron=patron, fee_ids=fees[:2])
            except (ValidationError, orders.UnknownFee):
                continue
            orders.payment_order_transition(
                order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
            )

    def counter(_index):
        for _round in range(ROUNDS):
            services.payment_book(patron=patron, amount_cents=150, method="cash")
            with suppress(ValidationError):
                services.refund_book(patron=patron, amount_cents=100, method="cash")

    def night(_index):
        for _round in range(ROUNDS // 5):
            with suppress(SettlementInProgress):
                settlement_run(business_date=timezone.localdate())

    run_in_threads(4, lambda index: (library, online, counter, night)[index](index))

    last = plan[-1]
    groups = selectors.fee_groups(patron.pk)
    unpaid = selectors.unpaid_cents(patron.pk)
    for fee in library_fees(patron):
        assert groups[fee.pk].charged_cents == last[fee.external_id]
        assert selectors.fee_unpaid_cents(groups[fee.pk], unpaid) <= last[fee.external_id]
    entries = JournalEntry.objects.filter(patron=patron).values_list("amount_cents", flat=True)
    assert selectors.balance_cents(patron=patron) == sum(entries)


def test_payments_settled_during_corrections_are_offset_as_the_library_system_was_told():
    patron = PatronFactory()
    sync(patron, {"L-1": 1000, "L-2": 700})
    amounts = [{"L-1": 300 + 50 * n, "L-2": 900 - 30 * n} for n in range(ROUNDS)]

    def library(_index):
        for round_amounts in amounts:
            sync(patron, round_amounts)

    def counter(_index):
        for _round in range(ROUNDS):
            services.payment_book(patron=patron, amount_cents=120, method="cash")

    def night(_index):
        for _round in range(ROUNDS // 5):
            with suppress(SettlementInProgress):
                settlement_run(business_date=timezone.localdate())

    run_in_threads(3, lambda index: (library, counter, night)[index](index))
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        settlement_run(business_date=timezone.localdate())  # what today booked after its run

    shares = PaymentShare.objects.filter(movement__kind=EntryKind.PAYMENT, fee__isnull=False)
    assert shares.exists()
    for share in shares:
        allocated = Allocation.objects.filter(
            credit_id=share.movement_id, debit_id=share.fee_id
        ).values_list("amount_cents", flat=True)
        assert sum(allocated) == share.amount_cents


def test_a_chargeback_racing_the_cancellation_of_its_fee_leaves_nothing_owed_for_it():
    patron = PatronFactory()
    sync(patron, {"L-1": 1000})
    (fee,) = library_fees(patron)
    payment = services.payment_book(patron=patron, amount_cents=1000, for_fees=[fee])

    run_in_threads(
        2,
        lambda index: (
            services.reversal_book(payment=payment)
            if index == 0
            else fee_correct(fee=fee, amount_cents=0, note="lost item found")
        ),
    )

    group = selectors.fee_groups(patron.pk)[fee.pk]
    assert group.charged_cents == 0
    assert selectors.fee_unpaid_cents(group, selectors.unpaid_cents(patron.pk)) == 0
    # Paid 10.00, taken back 10.00, charged nothing: nothing owed, no credit either way.
    assert selectors.balance_cents(patron=patron) == 0
