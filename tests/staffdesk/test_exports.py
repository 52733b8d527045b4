"""CSV exports: the filtered orders list and a business day's settlement."""

import csv
import datetime
import io

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from fees.models import Allocation, JournalEntry
from fees.settlement import settlement_run
from payments import services
from payments.models import EventSource
from staffdesk.exports import ALLOCATION_COLUMNS, ENTRY_COLUMNS, ORDER_COLUMNS
from tests.factories import FeeFactory, PatronFactory, PaymentFactory
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_orders_export_has_the_filtered_orders_and_their_columns(desk_client):
    paid = make_order(amount_cents=1250)
    services.payment_order_transition(order=paid, status="Paid", source=EventSource.PROVIDER)
    make_order()

    table = rows(desk_client.get(reverse("staffdesk:orders_export"), {"status": "Paid"}))

    assert table[0] == ORDER_COLUMNS
    assert len(table) == 2
    row = dict(zip(ORDER_COLUMNS, table[1], strict=True))
    assert (row["reference"], row["status"], row["amount_cents"]) == (
        paid.reference,
        "Paid",
        "1250",
    )
    paid.refresh_from_db()
    assert row["payment_entry_id"] == str(paid.payment_entry_id)
    assert row["card_number"] == paid.patron.card_number


def test_settlement_export_matches_the_journal(desk_client):
    for _ in range(3):
        patron = PatronFactory()
        fee = FeeFactory(patron=patron, amount_cents=700, business_date=YESTERDAY)
        PaymentFactory(patron=patron, amount_cents=-500, business_date=YESTERDAY).for_fees.set(
            [fee]
        )
    settlement = settlement_run(business_date=YESTERDAY).settlement

    table = rows(
        desk_client.get(reverse("staffdesk:settlement_export", args=[YESTERDAY.isoformat()]))
    )

    assert table[0] == ENTRY_COLUMNS
    entries = [r for r in table if r[0] == "entry"]
    allocations = [r for r in table if r[0] == "allocation"]
    totals = {r[2]: (int(r[3]), int(r[4])) for r in table if r[0] == "total"}
    assert ALLOCATION_COLUMNS in table
    assert len(entries) == JournalEntry.objects.filter(settled_in=settlement).count() == 6
    assert (
        sum(int(r[6]) for r in entries)
        == JournalEntry.objects.aggregate(t=Sum("amount_cents"))["t"]
    )
    assert len(allocations) == Allocation.objects.count() == 3
    assert totals["fee"] == (3, 2100)
    assert totals["payment"] == (3, -1500)
    assert totals["allocated"] == (3, 1500)


def test_export_of_a_day_not_settled_is_not_found(desk_client):
    response = desk_client.get(reverse("staffdesk:settlement_export", args=["2026-01-01"]))

    assert response.status_code == 404
