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
from payments.models import EventSource, PaymentOrder
from staffdesk.exports import (
    ALLOCATION_COLUMNS,
    ENTRY_COLUMNS,
    ORDER_COLUMNS,
    spreadsheet_safe,
)
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


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"]


def test_settlement_export_quotes_text_cells_a_spreadsheet_would_run(desk_client):
    patron = PatronFactory()
    for text in FORMULAS:
        PaymentFactory(
            patron=patron, amount_cents=-500, business_date=YESTERDAY, method=text, reference=text
        )
    settlement_run(business_date=YESTERDAY)

    table = rows(
        desk_client.get(reverse("staffdesk:settlement_export", args=[YESTERDAY.isoformat()]))
    )

    entries = [dict(zip(ENTRY_COLUMNS, r, strict=True)) for r in table if r[0] == "entry"]
    assert sorted(e["method"] for e in entries) == sorted(f"'{text}" for text in FORMULAS)
    assert sorted(e["reference"] for e in entries) == sorted(f"'{text}" for text in FORMULAS)


def test_settlement_export_keeps_negative_amounts_as_numbers(desk_client):
    PaymentFactory(amount_cents=-500, business_date=YESTERDAY, method="-cash")
    settlement_run(business_date=YESTERDAY)

    table = rows(
        desk_client.get(reverse("staffdesk:settlement_export", args=[YESTERDAY.isoformat()]))
    )

    entry = dict(zip(ENTRY_COLUMNS, next(r for r in table if r[0] == "entry"), strict=True))
    assert (entry["amount_cents"], entry["method"]) == ("-500", "'-cash")
    totals = {r[2]: r[4] for r in table if r[0] == "total"}
    assert totals["payment"] == "-500"


def test_orders_export_quotes_patron_name_and_payment_method_a_spreadsheet_would_run(
    desk_client,
):
    patron = PatronFactory(last_name='=HYPERLINK("http://evil.example","x")', first_name="")
    order = make_order(patron=patron)
    PaymentOrder.objects.filter(pk=order.pk).update(payment_method="@SUM(A1:A9)")

    table = rows(desk_client.get(reverse("staffdesk:orders_export")))

    row = dict(zip(ORDER_COLUMNS, table[1], strict=True))
    assert row["patron_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["payment_method"] == "'@SUM(A1:A9)"
    assert row["amount_cents"] == "500"


def test_spreadsheet_safe_quotes_only_text_that_starts_a_formula():
    row = ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "a=1", "", -500, 0, None]

    assert spreadsheet_safe(row) == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", "a=1", "", -500, 0, None,
    ]  # fmt: skip
