"""The export for accounting: a business day's money summed by kind, fee type, provider and
method, the day's settlement by fee type, and totals that reconcile to the journal."""

import csv
import datetime
import io
import zipfile
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import formats, timezone, translation

from fees import services as ledger
from fees.corrections import fee_correct
from fees.models import MONEY_KINDS, Allocation, EntryKind, JournalEntry
from fees.settlement import settlement_run
from payments import services as payments
from payments.api_keys import api_client_create
from payments.models import EventSource, OrderStatus, Refund
from payments.services import refunds
from staffdesk.accounting import (
    ALLOCATED_COLUMNS,
    BOOKED_COLUMNS,
    TOTAL_COLUMNS,
    accounting_rows,
)
from staffdesk.exports import spreadsheet_safe
from tests.factories import (
    FeeFactory,
    FeeKindFactory,
    OwnerFactory,
    PatronFactory,
    PaymentFactory,
)
from tests.staffdesk.conftest import make_order, pay_simulated

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)
COLUMNS = {"booked": BOOKED_COLUMNS, "allocated": ALLOCATED_COLUMNS, "total": TOTAL_COLUMNS}


def section(rows, record):
    return [dict(zip(COLUMNS[record], row, strict=True)) for row in rows if row[0] == record]


def cents_by(rows, *keys):
    """{key: (count, amount_cents)} summed over the rows."""
    sums = defaultdict(lambda: (0, 0))
    for row in rows:
        key = tuple(row[k] for k in keys)
        count, cents = sums[key]
        sums[key] = (count + int(row["count"]), cents + int(row["amount_cents"]))
    return dict(sums)


def journal_sum(**filters):
    return JournalEntry.objects.filter(**filters).aggregate(t=Sum("amount_cents"))["t"]


def paid_online(patron, fee, *, payment_method="card"):
    order = payments.order_create(patron=patron, fee_ids=[fee.pk])
    payments.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    result = payments.payment_order_transition(
        order=order,
        status=OrderStatus.PAID,
        source=EventSource.PROVIDER,
        payment_method=payment_method,
    )
    return result.order, result.booked


@pytest.fixture
def fee_types():
    return {
        "damage": FeeKindFactory(
            code="damage", name_en="Damaged item", cost_centre="CC-4100", budget_line="BL-11",
            object_number="OBJ-7",
        ),
        "late": FeeKindFactory(
            code="late", name_en="Late return", cost_centre="CC-4200", budget_line="BL-12",
            object_number="OBJ-8",
        ),
    }  # fmt: skip


@pytest.fixture
def business_day(fee_types, staff):
    """One business day (today) with every kind of entry, settled."""
    with_fees = PatronFactory()
    damage = ledger.fee_book(
        patron=with_fees, amount_cents=2000, description="Torn cover", fee_type="damage"
    )
    fee_correct(fee=damage, amount_cents=2500, note="binding too")  # an increase of 500
    late = ledger.fee_book(patron=with_fees, amount_cents=800, description="Late", fee_type="late")
    fee_correct(fee=late, amount_cents=600, note="library corrected")  # a reduction of 200
    waived = ledger.fee_book(
        patron=with_fees, amount_cents=300, description="Late too", fee_type="late"
    )
    ledger.waiver_book(fee=waived, note="first time", booked_by=staff)
    ledger.credit_note_book(patron=with_fees, amount_cents=100, note="goodwill", booked_by=staff)
    cash = ledger.payment_book(patron=with_fees, amount_cents=1000, method="cash", booked_by=staff)
    ledger.reversal_book(payment=cash, amount_cents=200, note="counterfeit note")

    online = PatronFactory()
    paid_online(
        online,
        ledger.fee_book(patron=online, amount_cents=700, description="Lost", fee_type="damage"),
    )

    refunded = PatronFactory()
    ledger.payment_book(patron=refunded, amount_cents=500, method="cash", booked_by=staff)
    ledger.refund_book(patron=refunded, amount_cents=200, method="cash", booked_by=staff)

    return settlement_run(business_date=TODAY).settlement


def test_booked_rows_sum_to_the_journal_of_the_day(business_day):
    booked = section(list(accounting_rows(TODAY)), "booked")

    assert sum(row["amount_cents"] for row in booked) == journal_sum(business_date=TODAY)
    assert sum(row["count"] for row in booked) == JournalEntry.objects.count() == 13


def test_booked_rows_sum_to_the_journal_per_kind(business_day):
    booked = section(list(accounting_rows(TODAY)), "booked")

    journal = {
        row["kind"]: (row["entries"], row["cents"])
        for row in JournalEntry.objects.filter(business_date=TODAY)
        .values("kind")
        .annotate(entries=Count("pk"), cents=Sum("amount_cents"))
    }
    assert {kind: sums for (kind,), sums in cents_by(booked, "kind").items()} == journal
    assert set(journal) == set(EntryKind.values)


def test_total_rows_are_the_journals_sums_and_the_settlements(business_day):
    totals = {
        (row["section"], row["kind"]): (row["count"], row["amount_cents"])
        for row in section(list(accounting_rows(TODAY)), "total")
    }

    assert totals[("booked", "all")] == (13, journal_sum(business_date=TODAY))
    assert totals[("booked", "payment")] == (3, journal_sum(kind=EntryKind.PAYMENT))
    assert totals[("allocated", "all")] == (
        business_day.allocations_made,
        business_day.allocated_cents,
    )


def test_bookings_count_under_their_fee_type_corrections_and_waivers_under_their_fees(
    business_day,
):
    booked = section(list(accounting_rows(TODAY)), "booked")

    assert cents_by(booked, "kind", "fee_type") == {
        ("credit_note", ""): (1, -100),
        ("fee", "damage"): (3, 3200),  # two fees and the increase of one
        ("fee", "late"): (2, 1100),
        ("payment", ""): (3, -2200),
        ("reduction", "late"): (1, -200),
        ("refund", ""): (1, 200),
        ("reversal", ""): (1, 200),
        ("waiver", "late"): (1, -300),
    }


def test_fee_type_rows_carry_its_name_and_accounting_codes(business_day):
    booked = section(list(accounting_rows(TODAY)), "booked")

    damage = next(row for row in booked if row["fee_type"] == "damage")
    assert [damage[column] for column in BOOKED_COLUMNS[3:8]] == [
        "damage", "Damaged item", "CC-4100", "BL-11", "OBJ-7",
    ]  # fmt: skip


def test_online_payment_is_under_its_provider_and_cash_under_counter(business_day):
    booked = section(list(accounting_rows(TODAY)), "booked")

    payments_by = cents_by(
        [row for row in booked if row["kind"] == EntryKind.PAYMENT], "provider", "method_code"
    )
    assert payments_by == {
        ("simulated", "online: card"): (1, -700),
        ("counter", "cash"): (2, -1500),
    }
    assert cents_by([row for row in booked if row["kind"] == EntryKind.REFUND], "provider") == {
        ("counter",): (1, 200)
    }


def test_a_refund_to_the_card_is_under_its_provider_and_still_reconciles(business_day, staff):
    refunds.refund_request(
        order=pay_simulated(make_order(amount_cents=900)), amount_cents=300,
        source=Refund.Source.PAYMENT, reason="charged twice", staff_user=staff,
    )  # fmt: skip

    booked = section(list(accounting_rows(TODAY)), "booked")

    assert cents_by([row for row in booked if row["kind"] == EntryKind.REFUND], "provider") == {
        ("counter",): (1, 200),
        ("simulated",): (1, 300),
    }
    assert sum(row["amount_cents"] for row in booked) == journal_sum(business_date=TODAY)


def test_entries_that_move_no_money_have_no_provider(business_day):
    booked = section(list(accounting_rows(TODAY)), "booked")

    assert {row["provider"] for row in booked if row["kind"] not in MONEY_KINDS} == {""}


def test_allocated_rows_sum_to_the_allocations_and_the_settlement(business_day):
    allocated = section(list(accounting_rows(TODAY)), "allocated")

    assert sum(row["amount_cents"] for row in allocated) == business_day.allocated_cents == 2500
    assert (
        sum(row["amount_cents"] for row in allocated)
        == Allocation.objects.filter(settlement=business_day).aggregate(t=Sum("amount_cents"))["t"]
    )
    assert sum(row["count"] for row in allocated) == business_day.allocations_made


def test_allocations_per_fee_type_match_the_allocations_to_fees_of_that_type(business_day):
    allocated = section(list(accounting_rows(TODAY)), "allocated")

    by_fee_type = cents_by(allocated, "fee_type")
    for code in ("damage", "late"):
        expected = Allocation.objects.filter(settlement=business_day, debit__fee_type=code)
        assert by_fee_type[(code,)][1] == expected.aggregate(t=Sum("amount_cents"))["t"], code
    assert by_fee_type[("damage",)][1] == 1800
    assert by_fee_type[("late",)][1] == 500


def test_allocations_to_debits_that_are_not_fees_are_under_their_kind(business_day):
    allocated = section(list(accounting_rows(TODAY)), "allocated")

    assert cents_by(allocated, "debit_kind", "fee_type", "credit_kind", "provider") == {
        ("fee", "damage", "credit_note", ""): (1, 100),
        ("fee", "damage", "payment", "counter"): (1, 1000),
        ("fee", "damage", "payment", "simulated"): (1, 700),
        ("fee", "late", "reduction", ""): (1, 200),
        ("fee", "late", "waiver", ""): (1, 300),
        ("refund", "", "payment", "counter"): (1, 200),
    }


def test_chargeback_of_an_online_payment_is_under_the_payments_provider():
    patron = PatronFactory()
    order, _payment = paid_online(patron, FeeFactory(patron=patron, amount_cents=900))

    payments.payment_order_transition(
        order=order, status=OrderStatus.CHARGEBACK, source=EventSource.PROVIDER
    )

    booked = section(list(accounting_rows(TODAY)), "booked")
    reversal = next(row for row in booked if row["kind"] == EntryKind.REVERSAL)
    assert (reversal["provider"], reversal["amount_cents"]) == ("simulated", 900)


def test_money_another_system_reported_for_a_patron_is_under_api():
    client, _key = api_client_create(name="self-service kiosk", scopes=["payments:write"])
    payments.money_receive_for_patron(
        patron=PatronFactory(), amount_cents=300, currency="EUR", api_client=client,
        external_id="kiosk-1", method="coins",
    )  # fmt: skip

    booked = section(list(accounting_rows(TODAY)), "booked")

    assert [(row["provider"], row["method_code"], row["amount_cents"]) for row in booked] == [
        ("api", "coins", -300)
    ]


def test_entries_and_allocations_of_other_days_are_not_included():
    patron = PatronFactory()
    day_before = YESTERDAY - datetime.timedelta(days=1)
    FeeFactory(patron=patron, amount_cents=400, business_date=day_before)
    PaymentFactory(patron=patron, amount_cents=-400, business_date=day_before)
    settlement_run(business_date=day_before)
    FeeFactory(patron=patron, amount_cents=250, business_date=YESTERDAY)
    PaymentFactory(patron=patron, amount_cents=-250, business_date=YESTERDAY)
    FeeFactory(patron=patron, amount_cents=999, business_date=TODAY)
    settlement_run(business_date=YESTERDAY)

    rows = list(accounting_rows(YESTERDAY))

    assert cents_by(section(rows, "booked"), "kind") == {
        ("fee",): (1, 250),
        ("payment",): (1, -250),
    }
    assert cents_by(section(rows, "allocated"), "debit_kind") == {("fee",): (1, 250)}
    assert {row["business_date"] for row in section(rows, "booked")} == {YESTERDAY.isoformat()}


def test_a_day_not_settled_has_its_bookings_and_no_allocations():
    FeeFactory(amount_cents=500, business_date=YESTERDAY)

    rows = list(accounting_rows(YESTERDAY))

    assert len(section(rows, "booked")) == 1
    assert section(rows, "allocated") == []
    assert ALLOCATED_COLUMNS in rows
    assert [row["section"] for row in section(rows, "total")] == ["booked", "booked"]


def test_amounts_stay_integer_cents_with_a_readable_amount_beside(business_day):
    booked = section(list(accounting_rows(TODAY)), "booked")

    cash = next(row for row in booked if row["method_code"] == "cash" and row["kind"] == "payment")
    assert cash["amount_cents"] == -1500
    assert str(cash["amount"]) == "-15.00"


# The desk page


def csv_table(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def as_csv(rows):
    return [["" if cell is None else str(cell) for cell in spreadsheet_safe(row)] for row in rows]


def xlsx_parts(content):
    with zipfile.ZipFile(io.BytesIO(content)) as workbook:
        return {name: workbook.read(name).decode() for name in workbook.namelist()}


def test_page_offers_yesterday_as_csv_or_xlsx(desk_client):
    response = desk_client.get(reverse("staffdesk:accounting"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'value="{YESTERDAY.isoformat()}"' in page
    assert 'value="csv"' in page and 'value="xlsx"' in page


def test_desk_home_links_to_the_page(desk_client):
    response = desk_client.get(reverse("staffdesk:home"))

    assert reverse("staffdesk:accounting") in response.content.decode()


def test_csv_download_has_the_days_rows(desk_client, business_day):
    response = desk_client.get(
        reverse("staffdesk:accounting"), {"date": TODAY.isoformat(), "format": "csv"}
    )

    assert response["Content-Disposition"] == (
        f'attachment; filename="accounting-{TODAY.isoformat()}.csv"'
    )
    table = csv_table(response)
    assert table == as_csv(accounting_rows(TODAY))
    assert table[0] == BOOKED_COLUMNS
    assert ["booked", TODAY.isoformat(), "payment", "", "", "", "", "", "simulated",
            "Online (Card)", "online: card", "1", "-700", "-7.00", "default"] in table  # fmt: skip


def test_csv_download_quotes_text_a_spreadsheet_would_run(desk_client):
    PaymentFactory(amount_cents=-500, business_date=YESTERDAY, method="=1+1")

    table = csv_table(
        desk_client.get(
            reverse("staffdesk:accounting"), {"date": YESTERDAY.isoformat(), "format": "csv"}
        )
    )

    booked = section(table, "booked")
    assert [(row["method_code"], row["amount_cents"]) for row in booked] == [("'=1+1", "-500")]


def test_xlsx_download_is_a_workbook_with_a_sheet_per_section(desk_client, business_day):
    response = desk_client.get(
        reverse("staffdesk:accounting"), {"date": TODAY.isoformat(), "format": "xlsx"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="accounting-{TODAY.isoformat()}.xlsx"'
    )
    parts = xlsx_parts(response.content)
    assert "xl/workbook.xml" in parts
    for name in ("booked", "allocated", "total"):
        assert f'name="{name}"' in parts["xl/workbook.xml"]
    assert "<t>simulated</t>" in parts["xl/worksheets/sheet1.xml"]
    assert "<t>CC-4100</t>" in parts["xl/worksheets/sheet2.xml"]


def test_xlsx_keeps_text_that_looks_like_a_formula_as_text(desk_client):
    PaymentFactory(amount_cents=-500, business_date=YESTERDAY, method="=1+1")

    response = desk_client.get(
        reverse("staffdesk:accounting"), {"date": YESTERDAY.isoformat(), "format": "xlsx"}
    )

    sheet = xlsx_parts(response.content)["xl/worksheets/sheet1.xml"]
    assert "<t>=1+1</t>" in sheet
    assert "<f>" not in sheet


def test_bad_date_shows_the_form_again_with_the_error(desk_client):
    response = desk_client.get(
        reverse("staffdesk:accounting"), {"date": "2026-02-30", "format": "csv"}
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Enter a valid date." in response.content.decode()


def test_an_unknown_file_format_shows_the_form_again_with_the_error(desk_client):
    response = desk_client.get(
        reverse("staffdesk:accounting"), {"date": YESTERDAY.isoformat(), "format": "pdf"}
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Select a valid choice." in response.content.decode()


def test_future_date_is_refused(desk_client):
    tomorrow = TODAY + datetime.timedelta(days=1)

    response = desk_client.get(
        reverse("staffdesk:accounting"), {"date": tomorrow.isoformat(), "format": "csv"}
    )

    assert response.status_code == 400
    assert "in the future" in response.content.decode()


def test_patron_gets_no_export(client):
    client.force_login(PatronFactory().user)

    response = client.get(
        reverse("staffdesk:accounting"), {"date": YESTERDAY.isoformat(), "format": "csv"}
    )

    assert response.status_code == 403


# The nightly command


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_accounting", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_writes_csv_to_standard_output(business_day):
    out, err = run_command("--date", TODAY.isoformat())

    assert list(csv.reader(io.StringIO(out))) == as_csv(accounting_rows(TODAY))
    assert err == ""


def test_command_exports_yesterday_by_default():
    FeeFactory(amount_cents=500, business_date=YESTERDAY)
    settlement_run(business_date=YESTERDAY)

    out, _err = run_command()

    booked = section(list(csv.reader(io.StringIO(out))), "booked")
    assert [(row["business_date"], row["amount_cents"]) for row in booked] == [
        (YESTERDAY.isoformat(), "500")
    ]


def test_command_writes_xlsx_to_a_file(business_day, tmp_path):
    path = tmp_path / "accounting.xlsx"

    out, _err = run_command("--date", TODAY.isoformat(), "--format", "xlsx", "--output", str(path))

    parts = xlsx_parts(path.read_bytes())
    assert "xl/workbook.xml" in parts
    assert "<t>simulated</t>" in parts["xl/worksheets/sheet1.xml"]
    assert str(path) in out
    assert [p.name for p in tmp_path.iterdir()] == ["accounting.xlsx"]


def test_command_writes_csv_to_a_file(business_day, tmp_path):
    path = tmp_path / "accounting.csv"

    run_command("--date", TODAY.isoformat(), "--output", str(path))

    with path.open(newline="", encoding="utf-8") as file:
        assert list(csv.reader(file)) == as_csv(accounting_rows(TODAY))


def test_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run_command("--date", "21.11.2026")


def test_command_refuses_xlsx_without_a_file():
    with pytest.raises(CommandError, match="--output"):
        run_command("--format", "xlsx")


def test_command_warns_when_the_days_settlement_has_not_run():
    FeeFactory(amount_cents=500, business_date=YESTERDAY)

    out, err = run_command("--date", YESTERDAY.isoformat())

    assert "settlement of" in err and "has not run" in err
    assert len(section(list(csv.reader(io.StringIO(out))), "booked")) == 1


# What a bookkeeper reads in the method column


def methods(rows, record="booked", kind_column="kind"):
    return {(row[kind_column], row["method"]) for row in section(rows, record)}


def test_each_money_row_names_its_method_for_a_bookkeeper(business_day, staff):
    patron = PatronFactory()
    order, _payment = paid_online(patron, FeeFactory(patron=patron, amount_cents=900))
    payments.payment_order_transition(
        order=order, status=OrderStatus.CHARGEBACK, source=EventSource.PROVIDER
    )
    refunds.refund_request(
        order=pay_simulated(make_order(amount_cents=900)), amount_cents=300,
        source=Refund.Source.PAYMENT, reason="charged twice", staff_user=staff,
    )  # fmt: skip

    named = methods(list(accounting_rows(TODAY)))

    assert {
        ("payment", "Online (Card)"),
        ("payment", "At the desk (Cash)"),
        ("refund", "Refund to the card (simulated provider)"),
        ("refund", "Refund at the desk (Cash)"),
        ("reversal", "Chargeback (simulated provider)"),
        ("reversal", "Chargeback"),  # of the cash payment: a returned counterfeit note
    } <= named
    assert not {method for _kind, method in named if "online:" in method}


def test_an_online_payment_of_an_unknown_method_is_named_by_its_provider():
    patron = PatronFactory()
    paid_online(patron, FeeFactory(patron=patron), payment_method="")

    assert ("payment", "Online (simulated provider)") in methods(list(accounting_rows(TODAY)))


def test_allocated_rows_name_the_credits_method(business_day):
    named = methods(list(accounting_rows(TODAY)), "allocated", "credit_kind")

    assert ("payment", "Online (Card)") in named


def test_the_method_is_named_in_the_readers_language(business_day):
    with translation.override("de"):
        named = methods(list(accounting_rows(TODAY)))

    assert ("payment", "Online (Karte)") in named
    assert ("reversal", "Rückbuchung") in named


# Whether the day is settled


def test_the_page_says_up_to_which_day_the_settlement_has_run(desk_client, business_day):
    page = desk_client.get(reverse("staffdesk:accounting")).content.decode()

    assert 'id="settlement-state"' in page
    assert formats.date_format(TODAY, "SHORT_DATE_FORMAT") in page


def test_the_page_warns_that_yesterday_is_not_settled(desk_client):
    page = desk_client.get(reverse("staffdesk:accounting")).content.decode()

    assert "No day has been settled yet" in page


def test_a_download_of_a_day_not_settled_says_so_in_its_name(desk_client):
    FeeFactory(amount_cents=500, business_date=TODAY)

    response = desk_client.get(
        reverse("staffdesk:accounting"), {"date": TODAY.isoformat(), "format": "csv"}
    )

    assert response["Content-Disposition"] == (
        f'attachment; filename="accounting-{TODAY.isoformat()}-not-settled.csv"'
    )


# --- Owners ---------------------------------------------------------------------------


@pytest.fixture
def two_owners_day():
    """Today: a 5.00 fee of the default owner paid online, a 7.00 fee of a branch open."""
    north = OwnerFactory(code="NORTH")
    patron = PatronFactory()
    paid_online(patron, FeeFactory(patron=patron, amount_cents=500))
    FeeFactory(patron=patron, amount_cents=700, owner=north)
    return north


def test_each_booked_row_names_the_owner_of_its_fee_or_money(two_owners_day):
    booked = section(list(accounting_rows(TODAY)), "booked")

    assert cents_by(booked, "owner", "kind") == {
        ("default", "fee"): (1, 500),
        ("default", "payment"): (1, -500),
        ("NORTH", "fee"): (1, 700),
    }


def test_one_owners_export_has_only_its_rows_and_its_totals(two_owners_day):
    rows = list(accounting_rows(TODAY, two_owners_day))

    assert {row["owner"] for row in section(rows, "booked")} == {"NORTH"}
    (total,) = [row for row in section(rows, "total") if row["kind"] == "all"]
    assert (total["count"], total["amount_cents"]) == (1, 700)


def test_the_command_writes_one_file_per_owner(two_owners_day, tmp_path):
    run_command("--date", TODAY.isoformat(), "--each-owner", str(tmp_path))

    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [
        f"accounting-{TODAY.isoformat()}-default-not-settled.csv",
        f"accounting-{TODAY.isoformat()}-north-not-settled.csv",
    ]


def test_the_command_refuses_an_unknown_owner():
    with pytest.raises(CommandError, match="names no owner"):
        run_command("--owner", "NOWHERE")


def test_the_desk_downloads_one_owners_export(desk_client, two_owners_day):
    response = desk_client.get(
        reverse("staffdesk:accounting"),
        {"date": TODAY.isoformat(), "format": "csv", "owner": "NORTH"},
    )

    assert response["Content-Disposition"] == (
        f'attachment; filename="accounting-{TODAY.isoformat()}-north-not-settled.csv"'
    )
    assert as_csv(accounting_rows(TODAY, two_owners_day)) == csv_table(response)


def test_an_owners_own_cost_centre_is_booked_over_the_fee_types(fee_types):
    north = OwnerFactory(code="NORTH", cost_centre="CC-NORD")
    FeeFactory(amount_cents=700, fee_type="damage", owner=north)
    FeeFactory(amount_cents=300, fee_type="damage")

    booked = section(list(accounting_rows(TODAY)), "booked")

    assert {(row["owner"], row["cost_centre"]) for row in booked} == {
        ("NORTH", "CC-NORD"),
        ("default", "CC-4100"),
    }


def test_corrections_and_waivers_count_under_their_fees_owner():
    north = OwnerFactory(code="NORTH")
    fee = ledger.fee_book(
        patron=PatronFactory(), amount_cents=500, description="Late", owner="NORTH"
    )
    fee_correct(fee=fee, amount_cents=800, note="raised")  # an increase of 300
    fee_correct(fee=fee, amount_cents=700, note="lowered")  # a reduction of 100
    ledger.waiver_book(fee=fee, amount_cents=200, note="goodwill")

    booked = section(list(accounting_rows(TODAY, north)), "booked")

    assert cents_by(booked, "owner", "kind") == {
        ("NORTH", "fee"): (2, 800),
        ("NORTH", "reduction"): (1, -100),
        ("NORTH", "waiver"): (1, -200),
    }
