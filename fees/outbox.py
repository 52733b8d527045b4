"""The ledger's outbox for the library system.

Every money movement (payment, reversal, refund) gets, in its own transaction, its
shares per fee (PaymentShare) and a Delivery for the worker to send. The shares follow
the settlement's order: the fees the payment was made for, then the oldest open fee
that no online payment in progress holds; what is left is credit.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL

from fees.models import (
    Delivery,
    EntryKind,
    FeeType,
    JournalEntry,
    PaymentShare,
)
from fees.selectors import fee_remainders, unpaid_cents
from fees.signals import reserved_debit_ids


def delivery_key(entry: JournalEntry) -> str:
    return f"epayment-{entry.pk}"


def movement_record(
    *,
    entry: JournalEntry,
    preferred: Iterable[JournalEntry] = (),
    send: bool = True,
    reopens: int | None = None,
) -> Delivery:
    """Write the movement's shares and its delivery. The caller holds the patron's lock.

    A reversal re-opens one fee (`reopens`, from `reversal_parts`) or, for the part of its
    payment that was credit, none."""
    PaymentShare.objects.bulk_create(_shares(entry, list(preferred), reopens))
    status = Delivery.Status.PENDING if send else Delivery.Status.SKIPPED
    if (
        reopens is not None
        and JournalEntry.objects.filter(pk=reopens, fee_type=FeeType.SERVICE_FEE).exists()
    ):
        status = Delivery.Status.PORTAL_ONLY
    return Delivery.objects.create(
        entry=entry,
        key=delivery_key(entry),
        status=status,
        txid=_current_transaction_id(),
    )


def _current_transaction_id():
    # The feed orders by it and reads only below the oldest transaction still running, so
    # a booking that commits after a later one is still seen (payments.library_systems.feed).
    if connection.vendor == "postgresql":
        return RawSQL("pg_current_xact_id()::text::bigint", [])
    return 0


def _shares(entry: JournalEntry, preferred: list[JournalEntry], reopens) -> list[PaymentShare]:
    amount = abs(entry.amount_cents)
    if entry.kind == EntryKind.PAYMENT:
        plan = _payment_plan(entry, amount, preferred)
    elif entry.kind == EntryKind.REVERSAL and reopens is not None:
        plan = [(reopens, amount)]
    else:  # a refund pays back credit, a reversal of credit re-opens none: for no fee
        plan = []
    rest = amount - sum(cents for _fee_id, cents in plan)
    shares = [PaymentShare(movement=entry, fee_id=fee_id, amount_cents=c) for fee_id, c in plan]
    if rest:
        shares.append(PaymentShare(movement=entry, fee=None, amount_cents=rest))
    return shares


def _payment_plan(entry, amount, preferred) -> list[tuple[int, int]]:
    remaining = unpaid_cents(entry.patron_id)
    held = reserved_debit_ids([entry.patron_id])
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


def reversal_parts(payment: JournalEntry) -> list[tuple[int | None, int]]:
    """What of a payment can still be taken back, fee by fee (None: its part that was
    credit), fees first, in the order it paid them: its shares, each fee named as the
    library system knows it (an increase or a reversal it paid as the fee they belong
    to), less what earlier reversals of it took back. A fee re-opens by no more than is
    paid of it now: what the payment paid beyond a fee lowered since was credit, and once
    a settlement has given that credit to other debits, it is taken back as credit."""
    groups, remainders = fee_remainders(payment.patron_id)
    root_of = {debit: group.fee_id for group in groups.values() for debit in group.debit_ids}
    parts: dict[int | None, int] = defaultdict(int)
    for fee_id, cents in (
        PaymentShare.objects.filter(movement=payment)
        .values_list("fee_id", "amount_cents")
        .order_by("pk")
    ):
        parts[root_of.get(fee_id, fee_id) if fee_id else None] += cents
    taken = PaymentShare.objects.filter(
        movement__target=payment, movement__kind=EntryKind.REVERSAL
    ).values_list("fee_id", "amount_cents")
    for fee_id, cents in taken:
        parts[fee_id] -= cents
    plan = []
    credit = max(0, parts.pop(None, 0))
    for fee_id, cents in parts.items():
        group = groups.get(fee_id)
        covered = group.charged_cents - remainders[fee_id] if group else cents
        reopen = max(0, min(cents, covered))
        if reopen:
            plan.append((fee_id, reopen))
        credit += max(0, cents - reopen)
    if credit:
        plan.append((None, credit))
    return plan
