"""The ledger's side of the library-system bridge.

Every money movement (payment, reversal, refund) gets, in its own transaction, its
shares per fee (PaymentShare) and a Delivery for the worker to send. The shares follow
the settlement's order: the fees the payment was made for, then the oldest open fee
that no online payment in progress holds; what is left is credit.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import Sum
from django.db.models.expressions import RawSQL

from fees.models import (
    PAYABLE_KINDS,
    TARGETED_CREDIT_KINDS,
    Delivery,
    EntryKind,
    JournalEntry,
    PaymentShare,
    Settlement,
)
from fees.selectors import open_fees
from fees.signals import settlement_held_debits


def delivery_key(entry: JournalEntry) -> str:
    return f"epayment-{entry.pk}"


def movement_record(
    *, entry: JournalEntry, preferred: Iterable[JournalEntry] = (), send: bool = True
) -> Delivery:
    """Write the movement's shares and its delivery. The caller holds the patron's lock."""
    PaymentShare.objects.bulk_create(_shares(entry, list(preferred)))
    return Delivery.objects.create(
        entry=entry,
        key=delivery_key(entry),
        status=Delivery.Status.PENDING if send else Delivery.Status.SKIPPED,
        txid=_current_transaction_id(),
    )


def _current_transaction_id():
    # The feed orders by it and reads only below the oldest transaction still running,
    # so a booking that commits after a later one is still seen (fees.selectors).
    if connection.vendor == "postgresql":
        return RawSQL("pg_current_xact_id()::text::bigint", [])
    return 0


def _shares(entry: JournalEntry, preferred: list[JournalEntry]) -> list[PaymentShare]:
    amount = abs(entry.amount_cents)
    if entry.kind == EntryKind.PAYMENT:
        plan = _payment_plan(entry, amount, preferred)
    elif entry.kind == EntryKind.REVERSAL:
        plan = _reversal_plan(entry, amount)
    else:  # a refund pays back credit: it is for no fee
        plan = []
    rest = amount - sum(cents for _fee_id, cents in plan)
    shares = [PaymentShare(movement=entry, fee_id=fee_id, amount_cents=c) for fee_id, c in plan]
    if rest:
        shares.append(PaymentShare(movement=entry, fee=None, amount_cents=rest))
    return shares


def unpaid_cents(patron_id: int) -> dict[int, int]:
    """Each open debit's amount not yet paid: less allocations, waivers and reductions not
    settled yet, and the shares of payments not settled yet."""
    remaining = {
        fee.pk: fee.open_cents for fee in open_fees(patron=patron_id).filter(kind__in=PAYABLE_KINDS)
    }
    pending_credits = (
        JournalEntry.objects.filter(
            patron_id=patron_id, kind__in=TARGETED_CREDIT_KINDS, settled_in__isnull=True
        )
        .values("target_id")
        .annotate(total=Sum("amount_cents"))
    )
    for row in pending_credits:
        if row["target_id"] in remaining:
            remaining[row["target_id"]] += row["total"]
    planned = (
        PaymentShare.objects.filter(
            movement__patron_id=patron_id,
            movement__kind=EntryKind.PAYMENT,
            movement__settled_in__isnull=True,
            fee__isnull=False,
        )
        .values("fee_id")
        .annotate(total=Sum("amount_cents"))
    )
    for row in planned:
        if row["fee_id"] in remaining:
            remaining[row["fee_id"]] -= row["total"]
    return {fee_id: max(0, cents) for fee_id, cents in remaining.items()}


def _payment_plan(entry, amount, preferred) -> list[tuple[int, int]]:
    remaining = unpaid_cents(entry.patron_id)
    held = set().union(
        *(
            ids
            for _receiver, ids in settlement_held_debits.send(
                Settlement, patron_ids=[entry.patron_id]
            )
        )
    )
    wanted = [fee.pk for fee in preferred if fee.pk in remaining]
    oldest_first = [fee_id for fee_id in remaining if fee_id not in held and fee_id not in wanted]
    plan = []
    for fee_id in [*wanted, *oldest_first]:
        cents = min(amount, remaining[fee_id])
        if cents:
            plan.append((fee_id, cents))
            amount -= cents
        if not amount:
            break
    return plan


def _reversal_plan(entry, amount) -> list[tuple[int, int]]:
    """A reversal takes back what the payment paid, fee by fee, as far as it goes."""
    plan = defaultdict(int)
    for share in PaymentShare.objects.filter(movement_id=entry.target_id, fee__isnull=False):
        cents = min(amount, share.amount_cents)
        if cents:
            plan[share.fee_id] += cents
            amount -= cents
    return list(plan.items())
