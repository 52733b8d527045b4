"""Reads of the ledger. Balances are always summed from the entries, never stored."""

import datetime
from dataclasses import dataclass

from django.db.models import F, IntegerField, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from accounts.models import Patron
from fees.models import (
    CREDIT_KINDS,
    PAYABLE_KINDS,
    TARGETED_CREDIT_KINDS,
    Allocation,
    FeeKind,
    JournalEntry,
    Loan,
)


def balance_cents(*, patron: Patron) -> int:
    """The "Kontosaldo": all entries, settled or not. Positive = the patron owes."""
    total = JournalEntry.objects.filter(patron=patron).aggregate(total=Sum("amount_cents"))
    return total["total"] or 0


def balance_and_credit_cents(*, patron: Patron) -> tuple[int, int]:
    """`balance_cents` and `patron_credit_cents` from one scan of the patron's entries."""
    totals = JournalEntry.objects.filter(patron=patron).aggregate(
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


def open_cents_of(*, fee: JournalEntry) -> int:
    """What is left of one fee after allocations, and waivers and reductions booked but not
    yet settled."""
    allocated = fee.allocations_received.aggregate(total=Sum("amount_cents"))["total"] or 0
    pending = (
        JournalEntry.objects.filter(
            target=fee, kind__in=TARGETED_CREDIT_KINDS, settled_in__isnull=True
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    return fee.amount_cents - allocated + pending


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


def payable_cents(*, patron: Patron, reserved_cents: int = 0) -> int:
    """The most a patron may pay online: the balance less what open orders already cover."""
    return max(0, balance_cents(patron=patron) - reserved_cents)


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


def recent_entries(*, patron: Patron, limit: int = 10) -> QuerySet[JournalEntry]:
    """Latest payments, credits, refunds and reversals, settled or not, newest first."""
    return (
        JournalEntry.objects.filter(patron=patron)
        .exclude(kind="fee")
        .select_related("target")
        .order_by("-booked_at", "-id")[:limit]
    )
