"""Reads of the ledger. Balances are always summed from the entries, never stored."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import F, IntegerField, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from accounts.models import Patron
from fees.models import (
    CREDIT_KINDS,
    PAYABLE_KINDS,
    TARGETED_CREDIT_KINDS,
    Allocation,
    EntryKind,
    FeeKind,
    JournalEntry,
    Loan,
    PaymentShare,
)


def balance_cents(*, patron: Patron) -> int:
    """The "Kontosaldo": all entries, settled or not. Positive = the patron owes."""
    total = JournalEntry.objects.filter(patron=patron).aggregate(total=Sum("amount_cents"))
    return total["total"] or 0


def balance_and_credit_cents(*, patron: Patron, within: Q | None = None) -> tuple[int, int]:
    """`balance_cents` and `patron_credit_cents` from one scan of the patron's entries (of
    those `within` lets through: some owners' part of them, say)."""
    totals = JournalEntry.objects.filter(within or Q(), patron=patron).aggregate(
        balance=Sum("amount_cents"), credit=Sum(_credit_remaining(), filter=_CREDIT_CARRIED)
    )
    return totals["balance"] or 0, totals["credit"] or 0


def journal_subquery(sql: str, params=()) -> RawSQL:
    """A correlated subquery on the journal's rows, written as SQL: the ORM takes longer
    to build such a subquery than the database takes to run it, on every page that shows
    fees. `{journal}` in `sql` is the outer journal row's table, so use it in a query of
    JournalEntry itself, never nested inside another query."""
    return RawSQL(
        "(" + sql.format(journal=JournalEntry._meta.db_table) + ")",
        list(params),
        output_field=IntegerField(),
    )


def in_list(values) -> tuple[str, list]:
    """`IN (...)` placeholders and parameters, for `journal_subquery`."""
    values = list(values)
    return "IN (" + ", ".join(["%s"] * len(values)) + ")", values


def _allocated(side: str) -> RawSQL:
    """What allocations gave each entry as their `side` ("debit" or "credit")."""
    column = {"debit": "debit_id", "credit": "credit_id"}[side]
    return journal_subquery(
        f"SELECT COALESCE(SUM(allocated.amount_cents), 0) FROM {Allocation._meta.db_table}"
        f" allocated WHERE allocated.{column} = {{journal}}.id"
    )


def open_fees(*, patron: Patron) -> QuerySet[JournalEntry]:
    """Fees (and reversed payments) not yet fully offset, oldest first, with `open_cents`.

    Offsetting happens only in the daily settlement, so a fee paid today still shows here.
    """
    return (
        JournalEntry.objects.filter(patron=patron, kind__in=PAYABLE_KINDS, cleared_in__isnull=True)
        .select_related("target")
        .annotate(open_cents=F("amount_cents") - _allocated("debit"))
        .order_by("booked_at", "id")
    )


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
    return open_fees(patron=patron_id).filter(kind__in=PAYABLE_KINDS).annotate(owed_cents=unpaid)


def fees_unpaid(patron_id: int, fees=None) -> list[JournalEntry]:
    """The patron's open debits (`open_fees_unpaid`, or `fees`, rows of it already read),
    each with `unpaid_cents`: what is still to pay of it, and `fee_group_id`: the fee it
    is part of (`FeeGroup.fee_id`; itself when it is part of no one fee).

    What is unpaid is a matter of the whole fee (`FeeGroup`): a reduction may stand on a
    debit of it that is paid, a reversal re-open it, so each debit's own remainder is
    counted against the fee's (`fee_remainders`). Each debit gets what the fee leaves,
    in booking order.
    """
    fees = list(open_fees_unpaid(patron_id) if fees is None else fees)
    root_of, left = _remainders(*fee_groups_and_pending(patron_id), fees)
    for fee in fees:
        root = fee.fee_group_id = root_of.get(fee.pk, fee.pk)
        fee.unpaid_cents = max(0, min(fee.owed_cents, left[root]))
        left[root] -= fee.unpaid_cents
    return fees


def fee_remainders(patron_id: int) -> tuple[dict[int, "FeeGroup"], dict[int, int]]:
    """The patron's fees (`fee_groups`), and what each still asks for before it is held at
    zero: below zero when more was paid for it than it now charges (the rest is credit,
    not yet given to other debits by a settlement)."""
    groups, pending = fee_groups_and_pending(patron_id)
    return groups, dict(_remainders(groups, pending, list(open_fees_unpaid(patron_id)))[1])


def _remainders(groups, pending, fees) -> tuple[dict[int, int], dict[int, int]]:
    root_of = {debit: group.fee_id for group in groups.values() for debit in group.debit_ids}
    left = defaultdict(int, {fee_id: 0 for fee_id in groups})
    open_ids = {fee.pk for fee in fees}
    for fee in fees:
        left[root_of.get(fee.pk, fee.pk)] += fee.owed_cents
    # Waivers and reductions not settled yet on a debit already offset: the settlement
    # gives them to the rest of its fee.
    for target_id, cents in pending.items():
        if target_id not in open_ids and target_id in root_of:
            left[root_of[target_id]] += cents
    return root_of, left


def unpaid_cents(patron_id: int) -> dict[int, int]:
    """Each open debit's `unpaid_cents` (`fees_unpaid`), oldest first."""
    return {fee.pk: fee.unpaid_cents for fee in fees_unpaid(patron_id)}


@dataclass(frozen=True)
class FeeGroup:
    """A fee as the library system knows it, and every entry of the journal that is part of
    it: the fee, its increases, the reductions of any of these, and the reversals that
    re-open it after a chargeback (each names the one fee it re-opens, by its share)."""

    fee_id: int
    debit_ids: tuple[int, ...]  # the fee, its increases, its reversals; booking order
    charged_cents: int  # what the library system charges: the fee, increases, reductions


def reopened_fee_sql(entry: str) -> str:
    """SQL for the one fee the journal row `entry` re-opens, if it is a reversal: its only
    share with a fee. A reversal booked before reversals were split per fee may name
    several: it re-opens no one fee (NULL)."""
    return (
        "(SELECT CASE WHEN COUNT(*) = 1 THEN MIN(reopened.fee_id) END"
        f" FROM {PaymentShare._meta.db_table} reopened"
        f" WHERE reopened.movement_id = {entry}.id AND reopened.fee_id IS NOT NULL)"
    )


def fee_of_debit(entry_id: int, kind: str, target_id: int | None, reopens: int | None) -> int:
    """The fee a debit belongs to: an increase its fee, a reversal the one fee it re-opens;
    a fee, or a debit of no one fee, itself."""
    if kind == EntryKind.FEE:
        return target_id or entry_id
    return reopens or entry_id


REOPENED_FEE = journal_subquery(reopened_fee_sql("{journal}")[1:-1])


def fee_groups(patron_id: int, fee_ids=None) -> dict[int, FeeGroup]:
    """The patron's fees (those the library system knows as its own: entries of kind fee
    that increase no other), each as a `FeeGroup`; only `fee_ids` when given."""
    groups, _pending = fee_groups_and_pending(patron_id, fee_ids)
    return groups


def fee_groups_and_pending(patron_id: int, fee_ids=None):
    """`fee_groups`, and the waivers and reductions not settled yet, added up per debit
    they stand on (negative cents), from one read of the patron's entries."""
    rows = list(
        JournalEntry.objects.filter(
            patron_id=patron_id,
            kind__in=[EntryKind.FEE, EntryKind.REVERSAL, *TARGETED_CREDIT_KINDS],
        )
        .annotate(reopens=REOPENED_FEE)
        .order_by("booked_at", "id")
        .values_list("pk", "kind", "target_id", "amount_cents", "settled_in_id", "reopens")
    )
    pending = defaultdict(int)
    debits: dict[int, list[int]] = {}  # each fee's debits, booking order
    charged: dict[int, int] = {}
    root_of: dict[int, int] = {}
    for entry_id, kind, target_id, _amount, _settled, _reopens in rows:
        if kind == EntryKind.FEE and target_id is None:
            debits[entry_id], charged[entry_id] = [], 0
    for entry_id, kind, target_id, amount, settled_in, reopens in rows:
        if kind in TARGETED_CREDIT_KINDS:
            if settled_in is None:
                pending[target_id] += amount
            continue
        root = fee_of_debit(entry_id, kind, target_id, reopens)
        if root in debits:
            debits[root].append(entry_id)
            root_of[entry_id] = root
            if kind == EntryKind.FEE:
                charged[root] += amount
    for _entry_id, kind, target_id, amount, _settled, _reopens in rows:
        if kind == EntryKind.REDUCTION and target_id in root_of:
            charged[root_of[target_id]] += amount
    wanted = debits if fee_ids is None else [i for i in fee_ids if i in debits]
    groups = {fee_id: FeeGroup(fee_id, tuple(debits[fee_id]), charged[fee_id]) for fee_id in wanted}
    return groups, pending


def fee_unpaid_cents(group: FeeGroup, unpaid: dict[int, int]) -> int:
    """What is still to pay of the fee: the unpaid part of each of its open debits."""
    return sum(unpaid.get(debit_id, 0) for debit_id in group.debit_ids)


def name_fee_types(
    fees: list[JournalEntry], kinds: dict[str, FeeKind] | None = None
) -> list[JournalEntry]:
    """Give each fee its fee type's name (`type_name`) in the interface language, from one
    query of the fee types (or from `kinds`, when the caller has them already)."""
    if kinds is None:
        codes = {fee.fee_type for fee in fees} - {""}
        kinds = {kind.code: kind for kind in FeeKind.objects.filter(code__in=codes)}
    for fee in fees:
        kind = kinds.get(fee.fee_type)
        fee.type_name = kind.name if kind else fee.fee_type
    return fees


# Credit a settlement could not use: settled, not fully allocated.
_CREDIT_CARRIED = Q(kind__in=CREDIT_KINDS, settled_in__isnull=False, cleared_in__isnull=True)


def _credit_remaining():
    return -F("amount_cents") - _allocated("credit")


def patron_credit_cents(*, patron: Patron) -> int:
    """The "Guthaben": credit a settlement could not use, carried forward to later ones."""
    remaining = (
        JournalEntry.objects.filter(_CREDIT_CARRIED, patron=patron)
        .annotate(remaining=_credit_remaining())
        .aggregate(total=Sum("remaining"))
    )
    return remaining["total"] or 0


def payable_cents(*, patron: Patron, reserved_cents: int = 0, balance: int | None = None) -> int:
    """The most a patron may pay online: the balance (`balance`, when the caller has read
    it already) less what open orders already cover."""
    balance = balance_cents(patron=patron) if balance is None else balance
    return max(0, balance - reserved_cents)


@dataclass(frozen=True)
class AccruingFine:
    loan: Loan
    fine_cents: int


def accruing_fines(*, patron: Patron, on_date: datetime.date) -> list[AccruingFine]:
    """Fines of overdue loans still out: shown, never payable, not in the balance."""
    return [
        AccruingFine(loan=loan, fine_cents=loan.accrued_fine_cents(on_date))
        for loan in Loan.objects.filter(patron=patron, due_date__lt=on_date)
    ]


def recent_entries(
    *, patron: Patron, limit: int = 10, leaving_out: Q | None = None
) -> QuerySet[JournalEntry]:
    """Latest payments, credits, refunds and reversals, settled or not, newest first;
    without the entries `leaving_out` matches."""
    return (
        JournalEntry.objects.filter(patron=patron)
        .exclude(Q(kind="fee") | (leaving_out or Q(pk__in=[])))
        .select_related("target")
        .order_by("-booked_at", "-id")[:limit]
    )
