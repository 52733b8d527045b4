"""The ledger's side of the library-system bridge.

Every money movement (payment, reversal, refund) gets, in its own transaction, its
shares per fee (PaymentShare) and a Delivery for the worker to send. The shares follow
the settlement's order: the fees the payment was made for, then the oldest open fee
that no online payment in progress holds; what is left is credit.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest

from fees.models import (
    PAYABLE_KINDS,
    TARGETED_CREDIT_KINDS,
    Delivery,
    EntryKind,
    JournalEntry,
    PaymentShare,
    Settlement,
)
from fees.selectors import in_list, journal_subquery, open_fees
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


def open_fees_unpaid(patron_id: int) -> QuerySet[JournalEntry]:
    """The patron's open fees (`open_fees`), each with `unpaid_cents`: what is not yet paid
    of it, less waivers and reductions not settled yet and the shares of payments not
    settled yet."""
    # "Not settled yet" is a condition inside the sums, not in WHERE: the partial index of
    # unsettled entries then cannot lure the planner into scanning every entry of the day
    # for each fee (its statistics say "none" from each nightly settlement on).
    targeted, kinds = in_list(TARGETED_CREDIT_KINDS)
    pending_credits = journal_subquery(
        "SELECT COALESCE(SUM(CASE WHEN credit.settled_in_id IS NULL"
        " THEN credit.amount_cents ELSE 0 END), 0)"
        " FROM {journal} credit WHERE credit.target_id = {journal}.id"
        f" AND credit.kind {targeted}",
        kinds,
    )
    planned = journal_subquery(
        "SELECT COALESCE(SUM(CASE WHEN payment.settled_in_id IS NULL"
        " THEN share.amount_cents ELSE 0 END), 0)"
        f" FROM {PaymentShare._meta.db_table} share"
        " JOIN {journal} payment ON payment.id = share.movement_id"
        " WHERE share.fee_id = {journal}.id AND payment.kind = %s",
        [EntryKind.PAYMENT.value],
    )
    unpaid = F("open_cents") + pending_credits - planned
    return (
        open_fees(patron=patron_id)
        .filter(kind__in=PAYABLE_KINDS)
        .annotate(unpaid_cents=Greatest(unpaid, Value(0)))
    )


def unpaid_cents(patron_id: int) -> dict[int, int]:
    """Each open debit's `unpaid_cents` (`open_fees_unpaid`), oldest first."""
    return dict(open_fees_unpaid(patron_id).values_list("pk", "unpaid_cents"))


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
