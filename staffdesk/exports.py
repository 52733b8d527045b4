"""CSV exports for the accounts department. Amounts in the ledger's own integer cents."""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import Count, QuerySet, Sum
from django.http import StreamingHttpResponse
from django.utils import timezone

from fees.models import Allocation, JournalEntry, Owner, Settlement, owned_by
from payments.models import PaymentOrder

ORDER_COLUMNS = [
    "reference", "created_at", "last_changed", "status", "amount_cents", "currency",
    "provider", "mode", "payment_method", "payment_entry_id", "user_number", "card_number",
    "patron_name",
]  # fmt: skip


# A spreadsheet reads a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(row: list) -> list:
    """The row with every text cell that a spreadsheet would run as a formula quoted by a
    leading apostrophe. Numbers (amounts such as -500) stay numbers."""
    return [
        f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell
        for cell in row
    ]


class _Echo:
    """A file that hands back what is written: csv.writer then yields each line to stream."""

    def write(self, value):
        return value


def csv_response(rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """The rows as a CSV download, written as they are read, each cell spreadsheet-safe."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(spreadsheet_safe(row)) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _time(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def order_rows(orders: QuerySet[PaymentOrder]) -> Iterator[list]:
    yield ORDER_COLUMNS
    for order in orders.iterator(chunk_size=2000):
        yield [
            order.reference, _time(order.created_at), _time(order.updated_at), order.status,
            order.amount_cents, order.currency, order.provider, order.mode, order.payment_method,
            order.payment_entry_id or "", order.patron.user_number, order.patron.card_number,
            order.patron.full_name,
        ]  # fmt: skip


ENTRY_COLUMNS = [
    "record", "entry_id", "booked_at", "business_date", "user_number", "kind", "amount_cents",
    "currency", "method", "reference", "booked_by", "description", "owner",
]  # fmt: skip
ALLOCATION_COLUMNS = ["record", "credit_entry_id", "debit_entry_id", "amount_cents"]


def settlement_rows(settlement: Settlement, owner_ids=None) -> Iterator[list]:
    """A business day's settlement: the entries it settled, its allocations, its totals;
    of the owners `owner_ids` only (None: every owner's), an allocation being theirs when
    its credit or its debit is."""
    entries = JournalEntry.objects.filter(settled_in=settlement)
    allocations = Allocation.objects.filter(settlement=settlement)
    if owner_ids is not None:
        entries = entries.filter(owned_by(owner_ids))
        allocations = allocations.filter(
            owned_by(owner_ids, "credit__owner") | owned_by(owner_ids, "debit__owner")
        )
    default_code = Owner.objects.default().code
    yield ENTRY_COLUMNS
    listed = entries.select_related("patron", "booked_by", "owner").order_by("booked_at", "pk")
    for entry in listed.iterator(chunk_size=2000):
        yield [
            "entry", entry.pk, _time(entry.booked_at), entry.business_date.isoformat(),
            entry.patron.user_number, entry.kind, entry.amount_cents, entry.currency,
            entry.method, entry.reference,
            entry.booked_by.get_username() if entry.booked_by else "", entry.description,
            entry.owner.code if entry.owner else default_code,
        ]  # fmt: skip
    yield ALLOCATION_COLUMNS
    for allocation in allocations.order_by("pk").iterator(chunk_size=5000):
        yield ["allocation", allocation.credit_id, allocation.debit_id, allocation.amount_cents]
    yield ["record", "business_date", "kind", "count", "amount_cents"]
    by_kind = entries.values("kind").annotate(total=Sum("amount_cents"), count=Count("pk"))
    for row in by_kind.order_by("kind"):
        yield [
            "total",
            settlement.business_date.isoformat(),
            row["kind"],
            row["count"],
            row["total"],
        ]
    if owner_ids is None:
        count, allocated = settlement.allocations_made, settlement.allocated_cents
    else:
        made = allocations.aggregate(count=Count("pk"), total=Sum("amount_cents"))
        count, allocated = made["count"], made["total"] or 0
    yield ["total", settlement.business_date.isoformat(), "allocated", count, allocated]
