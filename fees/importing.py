"""`manage.py import_fees FILE`: a library system's export of all open fees, booked at the
speed of the database.

The file is CSV (with a header) or JSON lines, one fee per row: the patron (user number,
card number, names, e-mail, the library system's patron id) and the fee (its id there,
type, owner, amount, currency, date, description). Rows are read in batches; each batch is
one transaction, which creates the patrons not here yet and books the fees not here yet
(on PostgreSQL with COPY, elsewhere with bulk inserts). A fee already here is left as it
is when its amount is the same, and corrected with the sync's rules when it is not. So a
second run, or a run after one killed part-way, ends in the state one whole run leaves.

A row that cannot be taken (a field missing, an amount that is not one, another currency,
an unknown owner, a fee id twice, a card number of another patron) is reported with its
line number, and nothing of it is written; the other rows are.
"""

import csv
import datetime
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from accounts.cards import normalize_card_number
from accounts.models import Patron
from fees.corrections import fee_correct
from fees.models import EntryKind, FeeKind, FeeType, JournalEntry, Owner

COLUMNS = ("user_number", "card_number", "first_name", "last_name", "email", "patron_id",
           "fee_id", "type", "owner", "amount", "currency", "date", "description")  # fmt: skip
REQUIRED = ("user_number", "card_number", "last_name", "fee_id", "amount", "currency",
            "description")  # fmt: skip
BATCH = 20_000
LOOKUP_CHUNK = 5_000  # ids per IN (...) lookup: well within SQLite's parameter limit


class BadRow(ValueError):
    pass


@dataclass(frozen=True)
class FeeRow:
    line: int
    user_number: str
    card_number: str
    first_name: str
    last_name: str
    email: str
    patron_id: str
    fee_id: str
    fee_type: str
    external_type: str
    owner_id: int | None
    amount_cents: int
    description: str


@dataclass
class ImportSummary:
    rows: int = 0
    patrons_created: int = 0
    fees_booked: int = 0
    fees_corrected: int = 0
    fees_unchanged: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def line(self) -> str:
        return (
            f"{self.rows} rows: {self.fees_booked} fees booked, {self.fees_corrected} corrected, "
            f"{self.fees_unchanged} already here; {self.patrons_created} patrons created; "
            f"{len(self.bad)} bad rows ({self.seconds:.1f} s)."
        )


def records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, fields) per row of a CSV file with a header or of JSON lines."""
    with path.open(encoding="utf-8", newline="") as stream:
        first = stream.read(1)
        stream.seek(0)
        if first == "{":
            for number, text in enumerate(stream, start=1):
                if text.strip():
                    try:
                        yield number, json.loads(text)
                    except ValueError:
                        yield number, {"_unreadable": text[:80]}
            return
        reader = csv.DictReader(stream)
        for record in reader:
            yield reader.line_num, record


class Checker:
    """Turns records into FeeRows, or says why not."""

    def __init__(self):
        self.kinds = set(FeeKind.objects.values_list("code", flat=True))
        self.owners = dict(Owner.objects.values_list("code", "pk"))
        self.fee_ids: set[str] = set()

    def row(self, line: int, record: dict) -> FeeRow:
        if "_unreadable" in record:
            raise BadRow("not a JSON object")
        values = {name: str(record.get(name) or "").strip() for name in COLUMNS}
        missing = [name for name in REQUIRED if not values[name]]
        if missing:
            raise BadRow(f"missing {', '.join(missing)}")
        if values["currency"].upper() != settings.LIBRARY_CURRENCY:
            raise BadRow(f"currency {values['currency']} is not the library's")
        cents = _cents(values["amount"])
        if values["date"]:
            try:
                datetime.date.fromisoformat(values["date"])
            except ValueError as error:
                raise BadRow(f"date {values['date']!r} is not YYYY-MM-DD") from error
        owner = values["owner"]
        if owner and owner not in self.owners:
            raise BadRow(f"unknown owner {owner}: add it in the admin first")
        if values["fee_id"] in self.fee_ids:
            raise BadRow(f"fee id {values['fee_id']} appears twice")
        self.fee_ids.add(values["fee_id"])
        fee_type = values["type"] if values["type"] in self.kinds else FeeType.OTHER
        return FeeRow(
            line=line, user_number=values["user_number"],
            card_number=normalize_card_number(values["card_number"]),
            first_name=values["first_name"], last_name=values["last_name"],
            email=values["email"], patron_id=values["patron_id"], fee_id=values["fee_id"],
            fee_type=fee_type, external_type=values["type"],
            owner_id=self.owners.get(owner) if owner else None, amount_cents=cents,
            description=values["description"][:255],
        )  # fmt: skip


def _cents(text: str) -> int:
    try:
        amount = Decimal(text.replace(",", "."))
    except InvalidOperation as error:
        raise BadRow(f"amount {text!r} is not an amount") from error
    cents = amount.scaleb(2)
    if not cents.is_finite() or cents != cents.to_integral_value() or cents <= 0:
        raise BadRow(f"amount {text!r} is not a positive amount in cents")
    return int(cents)


def import_fees(
    path: Path, *, batch_size: int = BATCH, progress: Callable[[ImportSummary], None] | None = None
) -> ImportSummary:
    summary = ImportSummary()
    started = time.monotonic()
    checker = Checker()
    default_owner = Owner.objects.default()
    rows = records(path)
    while batch := list(islice(rows, batch_size)):
        good = []
        for line, record in batch:
            summary.rows += 1
            try:
                good.append(checker.row(line, record))
            except BadRow as error:
                summary.bad.append((line, str(error)))
        _batch_import(good, summary, default_owner)
        if progress:
            progress(summary)
    summary.seconds = time.monotonic() - started
    return summary


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@transaction.atomic
def _batch_import(rows: list[FeeRow], summary: ImportSummary, default_owner: Owner) -> None:
    patron_ids = _patrons_for(rows, summary)
    rows = [row for row in rows if row.user_number in patron_ids]
    known = {}
    for chunk in _chunks([row.fee_id for row in rows]):
        known.update(
            (fee.external_id, fee)
            for fee in JournalEntry.objects.filter(
                kind=EntryKind.FEE, source_system="", external_id__in=chunk
            )
        )
    new = []
    for row in rows:
        fee = known.get(row.fee_id)
        if fee is None:
            new.append(row)
        elif fee.patron_id != patron_ids[row.user_number]:
            summary.bad.append((row.line, f"fee id {row.fee_id} belongs to another patron here"))
        elif fee.amount_cents == row.amount_cents:
            summary.fees_unchanged += 1
        elif fee_correct(fee=fee, amount_cents=row.amount_cents, note="import_fees").entries:
            summary.fees_corrected += 1
        else:  # corrected to this amount before
            summary.fees_unchanged += 1
    now = timezone.now()
    entries = [
        (patron_ids[row.user_number], EntryKind.FEE.value, row.amount_cents,
         settings.LIBRARY_CURRENCY, now, timezone.localdate(now), None, row.fee_type,
         row.description, "", "", "", "", "", row.fee_id, row.external_type, "",
         row.owner_id or default_owner.pk, None, None, None)
        for row in new
    ]  # fmt: skip
    _insert(JournalEntry, JOURNAL_COLUMNS, entries)
    summary.fees_booked += len(entries)


JOURNAL_COLUMNS = (
    "patron_id", "kind", "amount_cents", "currency", "booked_at", "business_date",
    "booked_by_id", "fee_type", "description", "item", "method", "reference", "note",
    "source_system", "external_id", "external_type", "booking_key", "owner_id", "target_id",
    "settled_in_id", "cleared_in_id",
)  # fmt: skip
USER_COLUMNS = ("password", "last_login", "is_superuser", "username", "first_name",
                "last_name", "email", "is_staff", "is_active", "date_joined")  # fmt: skip
PATRON_COLUMNS = ("user_id", "user_number", "card_number", "first_name", "last_name",
                  "email", "source_system", "external_id", "created_at")  # fmt: skip


def _patrons_for(rows: list[FeeRow], summary: ImportSummary) -> dict[str, int]:
    """Patron ids by user number: those here, and those created now. A patron whose card
    number or library-system id another patron has here is refused, with its rows."""
    first = {}
    for row in rows:
        first.setdefault(row.user_number, row)
    existing: dict[str, int] = {}
    for chunk in _chunks(list(first)):
        existing.update(
            Patron.objects.filter(user_number__in=chunk).values_list("user_number", "pk")
        )
    wanted = [row for number, row in first.items() if number not in existing]
    taken_cards, taken_ids = set(), set()
    for chunk in _chunks([row.card_number for row in wanted]):
        taken_cards.update(
            Patron.objects.filter(card_number__in=chunk).values_list("card_number", flat=True)
        )
    for chunk in _chunks([row.patron_id for row in wanted if row.patron_id]):
        taken_ids.update(
            Patron.objects.filter(source_system="", external_id__in=chunk).values_list(
                "external_id", flat=True
            )
        )
    refused, cards, ids, creating = set(), set(), set(), []
    for row in wanted:
        if row.card_number in taken_cards or row.card_number in cards:
            refused.add(row.user_number)
            continue
        if row.patron_id and (row.patron_id in taken_ids or row.patron_id in ids):
            refused.add(row.user_number)
            continue
        cards.add(row.card_number)
        if row.patron_id:
            ids.add(row.patron_id)
        creating.append(row)
    for row in rows:
        if row.user_number in refused:
            summary.bad.append(
                (
                    row.line,
                    f"card number or patron id of {row.user_number} is another patron's here",
                )
            )
    now = timezone.now()
    _insert(get_user_model(), USER_COLUMNS, [
        ("!", None, False, f"patron-{row.user_number}", "", "", row.email, False, True, now)
        for row in creating
    ])  # fmt: skip
    users = {}
    for chunk in _chunks([f"patron-{row.user_number}" for row in creating]):
        users.update(
            get_user_model().objects.filter(username__in=chunk).values_list("username", "pk")
        )
    _insert(Patron, PATRON_COLUMNS, [
        (users[f"patron-{row.user_number}"], row.user_number, row.card_number, row.first_name,
         row.last_name, row.email, "", row.patron_id, now)
        for row in creating
    ])  # fmt: skip
    summary.patrons_created += len(creating)
    for chunk in _chunks([row.user_number for row in creating]):
        existing.update(
            Patron.objects.filter(user_number__in=chunk).values_list("user_number", "pk")
        )
    return existing


def _insert(model, columns: tuple[str, ...], values: Iterable[tuple]) -> None:
    """Rows into the model's table: with COPY on PostgreSQL, else in bulk."""
    values = list(values)
    if not values:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                for value in values:
                    copy.write_row(value)
        return
    by_column = {f.column: f.attname for f in model._meta.concrete_fields}
    names = [by_column[column] for column in columns]
    model.objects.bulk_create(
        [model(**dict(zip(names, row, strict=True))) for row in values], batch_size=500
    )
