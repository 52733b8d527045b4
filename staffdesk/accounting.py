"""A business day's money for the accounts department, as CSV or as an .xlsx workbook.

Three sections, each a header row and then rows whose first cell names the record:
`booked` sums the day's journal entries by kind, fee type (with its accounting codes),
provider and method; `allocated` sums what that day's settlement offset, by the debit's
fee type and the credit's kind, provider and method; `total` gives the day's sums per
kind, overall and allocated, each from its own query, so that a reader can check the
sections against them. Amounts are the ledger's signed integer cents; `amount` repeats
them in the currency's units for people.

The sums are made by the database: a day has tens of thousands of entries, but only a
few dozen groups.
"""

import csv
import datetime
import itertools
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO

import xlsxwriter
from django.db.models import Case, CharField, Count, F, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from fees.models import (
    MONEY_KINDS,
    Allocation,
    EntryKind,
    FeeKind,
    JournalEntry,
    Owner,
    Settlement,
    owned_by,
)
from payments.labels import ONLINE, method_label, provider_label
from payments.models import UNKNOWN_METHOD
from payments.selectors import paid_online
from staffdesk.exports import spreadsheet_safe

FEE_TYPE_COLUMNS = ["fee_type", "fee_type_name", "cost_centre", "budget_line", "object_number"]
AMOUNT_COLUMNS = ["count", "amount_cents", "amount"]
# `method` says how the money moved in words (money_method); `method_code` is the method
# as the journal stores it.
# `owner` is the code of whose fee or money it is (an allocation: the debit's owner).
BOOKED_COLUMNS = [
    "record", "business_date", "kind", *FEE_TYPE_COLUMNS, "provider", "method", "method_code",
    *AMOUNT_COLUMNS, "owner",
]  # fmt: skip
ALLOCATED_COLUMNS = [
    "record", "business_date", "debit_kind", *FEE_TYPE_COLUMNS, "credit_kind", "provider",
    "method", "method_code", *AMOUNT_COLUMNS, "owner",
]  # fmt: skip
TOTAL_COLUMNS = ["record", "business_date", "section", "kind", *AMOUNT_COLUMNS]

# Money booked at the desk, and money an external system reported straight to a patron.
COUNTER = "counter"
API = "api"
# The kind column of the total rows that sum a whole section.
ALL = "all"

# Entries that count under the fee they name: an increase is a fee entry naming its fee.
CORRECTION_KINDS = (EntryKind.FEE, EntryKind.WAIVER, EntryKind.REDUCTION)


def yesterday() -> datetime.date:
    """The last complete business day: what the nightly export is for."""
    return timezone.localdate() - datetime.timedelta(days=1)


def entry_provider(path: str = "") -> Case:
    """Through whom an entry's money moved, for the entry at `path` ("" or "credit__").

    The provider of the order its money report paid; "api" for money an external system
    reported straight to a patron; "counter" for money booked at the desk; "" for entries
    that move no money. The one home of this rule: a new way for money to move is one
    more branch here.
    """
    return Case(
        When(paid_online(path), then=F(f"{path}money_report__order__provider")),
        When(**{f"{path}money_report__api_client__isnull": False}, then=Value(API)),
        # A chargeback has no report of its own: the money went back the way it came.
        When(
            **{
                f"{path}kind": EntryKind.REVERSAL,
                f"{path}target__money_report__order__isnull": False,
            },
            then=F(f"{path}target__money_report__order__provider"),
        ),
        When(
            **{f"{path}provider_refund__isnull": False},
            then=F(f"{path}provider_refund__order__provider"),
        ),
        When(**{f"{path}kind__in": MONEY_KINDS}, then=Value(COUNTER)),
        default=Value(""),
        output_field=CharField(),
    )


def money_method(kind: str, provider: str, method: str) -> str:
    """How an entry's money moved, in words a bookkeeper reads (in the active language),
    from its kind, provider (`entry_provider`) and stored method: "Online (Card)",
    "At the desk (Cash)", "Refund to the card (Stripe)", "Chargeback". The one home of
    this wording; "" for entries that move no money."""
    if method.startswith(ONLINE):
        method = method[len(ONLINE) :]
    paid_by = method_label(method) if method and method != UNKNOWN_METHOD else ""
    through = provider_label(provider) if provider not in (COUNTER, API, "") else ""
    if kind == EntryKind.REVERSAL:
        if through:
            return _("Chargeback (%(provider)s)") % {"provider": through}
        return _("Chargeback")
    if kind == EntryKind.REFUND:
        if through:
            return _("Refund to the card (%(provider)s)") % {"provider": through}
        if paid_by:
            return _("Refund at the desk (%(method)s)") % {"method": paid_by}
        return _("Refund at the desk")
    if kind != EntryKind.PAYMENT:
        return paid_by
    if through:
        return _("Online (%(method)s)") % {"method": paid_by or through}
    if provider == API:
        if paid_by:
            return _("Reported by another system (%(method)s)") % {"method": paid_by}
        return _("Reported by another system")
    return _("At the desk (%(method)s)") % {"method": paid_by} if paid_by else _("At the desk")


def entry_fee_type(path: str = "") -> Case:
    """The fee type code an entry counts under: a fee's own; a waiver's, reduction's or
    increase's that of the fee it names; none ("") for money and credit notes."""
    return Case(
        When(
            **{f"{path}kind__in": CORRECTION_KINDS, f"{path}target__isnull": False},
            then=F(f"{path}target__fee_type"),
        ),
        When(**{f"{path}kind": EntryKind.FEE}, then=F(f"{path}fee_type")),
        default=Value(""),
        output_field=CharField(),
    )


def entry_owner(path: str = "") -> Coalesce:
    """Whose an entry at `path` is, as the owner's code; an entry that names none the
    default owner's."""
    return Coalesce(F(f"{path}owner__code"), Value(Owner.objects.default().code))


def _of_owner(queryset, owner: Owner | None, path: str = ""):
    return queryset if owner is None else queryset.filter(owned_by([owner.pk], f"{path}owner"))


def finished_settlement(business_date: datetime.date) -> Settlement | None:
    return Settlement.objects.filter(business_date=business_date, finished_at__isnull=False).first()


def last_settled_date() -> datetime.date | None:
    """The latest business day whose settlement has finished: a later day's export has its
    bookings but no offsets yet."""
    latest = Settlement.objects.filter(finished_at__isnull=False).order_by("-business_date").first()
    return latest.business_date if latest else None


def export_filename(
    business_date: datetime.date, file_format: str, owner: Owner | None = None
) -> str:
    """The file's name, with the owner's code when it is one owner's; a day not settled
    yet says so in it."""
    unsettled = "" if finished_settlement(business_date) else "-not-settled"
    of_owner = f"-{slugify(owner.code)}" if owner else ""
    return f"accounting-{business_date.isoformat()}{of_owner}{unsettled}.{file_format}"


def _amount(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _amount_cells(count: int, cents: int | None) -> list:
    cents = cents or 0
    return [count, cents, _amount(cents)]


def _fee_type_cells(code: str, fee_kinds: dict[str, FeeKind], owner: Owner | None) -> list[str]:
    """The fee type's codes; an owner with a cost centre of its own books to that one."""
    fee_kind = fee_kinds.get(code)
    own_centre = owner.cost_centre if owner else ""
    if fee_kind is None:  # no fee type, or a code no longer known: the code names itself
        return [code, code, own_centre if code else "", "", ""]
    return [
        code, fee_kind.name, own_centre or fee_kind.cost_centre, fee_kind.budget_line,
        fee_kind.object_number,
    ]  # fmt: skip


def _owners_by_code() -> dict[str, Owner]:
    return {owner.code: owner for owner in Owner.objects.all()}


def booked_rows(business_date: datetime.date, owner: Owner | None = None) -> Iterator[list]:
    yield BOOKED_COLUMNS
    fee_kinds = {fee_kind.code: fee_kind for fee_kind in FeeKind.objects.all()}
    owners = _owners_by_code()
    groups = (
        _of_owner(JournalEntry.objects.filter(business_date=business_date), owner)
        .values(
            "kind",
            "method",
            fee_type_code=entry_fee_type(),
            provider=entry_provider(),
            owner_of=entry_owner(),
        )
        .annotate(entries=Count("pk"), cents=Sum("amount_cents"))
        .order_by("owner_of", "kind", "fee_type_code", "provider", "method")
    )
    for group in groups:
        yield [
            "booked", business_date.isoformat(), group["kind"],
            *_fee_type_cells(group["fee_type_code"], fee_kinds, owners.get(group["owner_of"])),
            group["provider"],
            money_method(group["kind"], group["provider"], group["method"]), group["method"],
            *_amount_cells(group["entries"], group["cents"]), group["owner_of"],
        ]  # fmt: skip


def allocated_rows(settlement: Settlement | None, owner: Owner | None = None) -> Iterator[list]:
    yield ALLOCATED_COLUMNS
    if settlement is None:
        return
    fee_kinds = {fee_kind.code: fee_kind for fee_kind in FeeKind.objects.all()}
    owners = _owners_by_code()
    groups = (
        _of_owner(Allocation.objects.filter(settlement=settlement), owner, "debit__")
        .values(
            owner_of=entry_owner("debit__"),
            debit_kind=F("debit__kind"),
            fee_type_code=entry_fee_type("debit__"),
            credit_kind=F("credit__kind"),
            provider=entry_provider("credit__"),
            method=F("credit__method"),
        )
        .annotate(allocations=Count("pk"), cents=Sum("amount_cents"))
        .order_by("owner_of", "debit_kind", "fee_type_code", "credit_kind", "provider", "method")
    )
    day = settlement.business_date.isoformat()
    for group in groups:
        yield [
            "allocated", day, group["debit_kind"],
            *_fee_type_cells(group["fee_type_code"], fee_kinds, owners.get(group["owner_of"])),
            group["credit_kind"],
            group["provider"],
            money_method(group["credit_kind"], group["provider"], group["method"]),
            group["method"],
            *_amount_cells(group["allocations"], group["cents"]), group["owner_of"],
        ]  # fmt: skip


def total_rows(
    business_date: datetime.date, settlement: Settlement | None, owner: Owner | None = None
) -> Iterator[list]:
    yield TOTAL_COLUMNS
    day = business_date.isoformat()
    by_kind = (
        _of_owner(JournalEntry.objects.filter(business_date=business_date), owner)
        .values("kind")
        .annotate(entries=Count("pk"), cents=Sum("amount_cents"))
        .order_by("kind")
    )
    entries = cents = 0
    for row in by_kind:
        entries += row["entries"]
        cents += row["cents"]
        yield ["total", day, "booked", row["kind"], *_amount_cells(row["entries"], row["cents"])]
    yield ["total", day, "booked", ALL, *_amount_cells(entries, cents)]
    if settlement is not None:
        allocated = _of_owner(
            Allocation.objects.filter(settlement=settlement), owner, "debit__"
        ).aggregate(allocations=Count("pk"), cents=Sum("amount_cents"))
        yield [
            "total", day, "allocated", ALL,
            *_amount_cells(allocated["allocations"], allocated["cents"]),
        ]  # fmt: skip


def accounting_sections(
    business_date: datetime.date, owner: Owner | None = None
) -> list[tuple[str, Iterator[list]]]:
    """The sections by name, each a header row and its rows; only `owner`'s when given.
    No offsets before the day's settlement has finished: until then they are still
    changing."""
    settlement = finished_settlement(business_date)
    return [
        ("booked", booked_rows(business_date, owner)),
        ("allocated", allocated_rows(settlement, owner)),
        ("total", total_rows(business_date, settlement, owner)),
    ]


def accounting_rows(business_date: datetime.date, owner: Owner | None = None) -> Iterator[list]:
    """All sections one after the other: the CSV file."""
    sections = accounting_sections(business_date, owner)
    return itertools.chain.from_iterable(rows for _name, rows in sections)


def write_csv(rows: Iterable[list], file: IO[str]) -> None:
    writer = csv.writer(file)
    for row in rows:
        writer.writerow(spreadsheet_safe(row))


def write_xlsx(sections: list[tuple[str, Iterator[list]]], output) -> None:
    """A worksheet per section, into `output` (a path or a binary file). In constant memory
    mode each row goes to disk once the next one starts, so rows are written in order."""
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True})
    amount_format = workbook.add_format({"num_format": "0.00"})
    for name, rows in sections:
        sheet = workbook.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(ALLOCATED_COLUMNS) - 1, 15)  # as wide as the widest section
        for row_number, row in enumerate(rows):
            for column, cell in enumerate(row):
                # write_string, not write: text that looks like a formula stays text.
                if isinstance(cell, str):
                    sheet.write_string(row_number, column, cell)
                elif isinstance(cell, Decimal):
                    sheet.write_number(row_number, column, float(cell), amount_format)
                elif cell is not None:
                    sheet.write_number(row_number, column, cell)
    workbook.close()
