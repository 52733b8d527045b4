"""What a settlement decided, for tests that compare two ways of settling."""

from fees.models import Allocation, JournalEntry, Settlement


def snapshot():
    """Everything the settlement decides, independent of row ids it creates."""
    return (
        sorted(Allocation.objects.values_list("credit_id", "debit_id", "amount_cents")),
        sorted(
            JournalEntry.objects.values_list(
                "pk", "settled_in__business_date", "cleared_in__business_date"
            )
        ),
        list(
            Settlement.objects.values_list(
                "business_date",
                "entries_settled",
                "allocations_made",
                "debits_cents",
                "credits_cents",
                "allocated_cents",
            )
        ),
    )
