"""The settlement's totals proved against the rows they sum.

A `Settlement` keeps its counts and totals for its report (the nightly summary, the desk,
the export), counted batch by batch in each batch's own transaction; the rows they count
(the entries it settled, the allocations it made) are the truth. `settle --check` reads
both and names every total that differs.
"""

from django.db.models import Count, Q, Sum

from fees.models import CREDIT_KINDS, DEBIT_KINDS, Allocation, JournalEntry, Settlement


def settlement_totals_from_rows(settlement: Settlement) -> dict[str, int]:
    """What each total of the settlement is, summed from its rows."""
    settled = JournalEntry.objects.filter(settled_in=settlement).aggregate(
        entries=Count("pk"),
        debits=Sum("amount_cents", filter=Q(kind__in=DEBIT_KINDS)),
        credits=Sum("amount_cents", filter=Q(kind__in=CREDIT_KINDS)),
    )
    allocations = Allocation.objects.filter(settlement=settlement).aggregate(
        count=Count("pk"), cents=Sum("amount_cents")
    )
    return {
        "entries_settled": settled["entries"],
        "debits_cents": settled["debits"] or 0,
        "credits_cents": -(settled["credits"] or 0),
        "allocations_made": allocations["count"],
        "allocated_cents": allocations["cents"] or 0,
    }


def settlement_check(settlement: Settlement) -> list[str]:
    """Each total that differs from its rows, as "name: kept X, rows Y" (empty: all agree)."""
    return [
        f"{name}: kept {getattr(settlement, name)}, rows {value}"
        for name, value in settlement_totals_from_rows(settlement).items()
        if getattr(settlement, name) != value
    ]
