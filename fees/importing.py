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
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
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


@dataclass(frozen=True, slots=True)
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


def records(path: Path) -> Iterator[tuple[int, list[str] | None]]:
    """(line number, the row's fields in COLUMNS order) per row of a CSV file with a header
    or of JSON lines; None for a line that is not a JSON object."""
    with path.open(encoding="utf-8", newline="") as stream:
        first = stream.read(1)
        stream.seek(0)
        if first == "{":
            for number, text in enumerate(stream, start=1):
                if text.strip():
                    try:
                        record = json.loads(text)
                    except ValueError:
                        record = None
                    if not isinstance(record, dict):
                        yield number, None
                        continue
                    yield number, [_text(record.get(name)) for name in COLUMNS]
            return
        reader = csv.reader(stream)
        header = next(reader, [])
        where = [header.index(name) if name in header else None for name in COLUMNS]
        for row in reader:
            width = len(row)
            yield (
                reader.line_num,
                [
                    row[index].strip() if index is not None and index < width else ""
                    for index in where
                ],
            )


(USER_NUMBER, CARD_NUMBER, FIRST_NAME, LAST_NAME, EMAIL, PATRON_ID, FEE_ID, TYPE, OWNER,
 AMOUNT, CURRENCY, DATE, DESCRIPTION) = range(len(COLUMNS))  # fmt: skip
REQUIRED_AT = [(COLUMNS.index(name), name) for name in REQUIRED]


class Checker:
    """Turns records into FeeRows, or says why not."""

    def __init__(self):
        self.kinds = set(FeeKind.objects.values_list("code", flat=True))
        self.owners = dict(Owner.objects.values_list("code", "pk"))
        self.fee_ids: set[str] = set()
        self.currency = settings.LIBRARY_CURRENCY

    def row(self, line: int, values: list[str] | None) -> FeeRow:
        if values is None:
            raise BadRow("not a JSON object")
        missing = [name for index, name in REQUIRED_AT if not values[index]]
        if missing:
            raise BadRow(f"missing {', '.join(missing)}")
        if values[CURRENCY] != self.currency and values[CURRENCY].upper() != self.currency:
            raise BadRow(f"currency {values[CURRENCY]} is not the library's")
        cents = _cents(values[AMOUNT])
        if values[DATE]:
            try:
                datetime.date.fromisoformat(values[DATE])
            except ValueError as error:
                raise BadRow(f"date {values[DATE]!r} is not YYYY-MM-DD") from error
        owner = values[OWNER]
        if owner and owner not in self.owners:
            raise BadRow(f"unknown owner {owner}: add it in the admin first")
        fee_id = values[FEE_ID]
        if fee_id in self.fee_ids:
            raise BadRow(f"fee id {fee_id} appears twice")
        self.fee_ids.add(fee_id)
        fee_type = values[TYPE]
        card = values[CARD_NUMBER]
        return FeeRow(
            line, values[USER_NUMBER],
            card.upper() if card.isalnum() else normalize_card_number(card),
            values[FIRST_NAME], values[LAST_NAME], values[EMAIL], values[PATRON_ID], fee_id,
            fee_type if fee_type in self.kinds else FeeType.OTHER, fee_type,
            self.owners[owner] if owner else None, cents, values[DESCRIPTION][:255],
        )  # fmt: skip


def _text(value) -> str:
    """A field as text (JSON lines may give numbers)."""
    if isinstance(value, str):
        return value.strip()
    return "" if value is None else str(value).strip()


PLAIN_AMOUNT = re.compile(r"(\d{1,13})(?:[.,](\d{1,2}))?")


def _cents(text: str) -> int:
    if plain := PLAIN_AMOUNT.fullmatch(text):  # the common case, without Decimal
        whole, fraction = plain.groups()
        cents = int(whole) * 100 + int((fraction or "0").ljust(2, "0"))
        if cents <= 0:
            raise BadRow(f"amount {text!r} is not a positive amount in cents")
        return cents
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
    analysed_at = 0
    while batch := list(islice(rows, batch_size)):
        good = []
        for line, record in batch:
            summary.rows += 1
            try:
                good.append(checker.row(line, record))
            except BadRow as error:
                summary.bad.append((line, str(error)))
        _batch_import(good, summary, default_owner)
        if summary.fees_booked >= 2 * analysed_at + batch_size:
            _analyse()  # the planner's picture of tables that have doubled since
            analysed_at = summary.fees_booked
        if progress:
            progress(summary)
    summary.seconds = time.monotonic() - started
    return summary


def _analyse() -> None:
    """Fresh statistics for the tables the import fills: without them PostgreSQL plans the
    next batch's lookups for the empty tables it last saw, and scans instead of seeking."""
    if connection.vendor == "postgresql":
        tables = [JournalEntry._meta.db_table, Patron._meta.db_table]
        tables.append(get_user_model()._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(tables)}")


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _among(queryset, field: str, values: list):
    """The rows whose `field` is one of `values`, in as few queries as the database allows:
    on PostgreSQL one IN (SELECT unnest(array)), which sends one parameter, not thousands,
    and which the planner joins (by index, or by hash while the tables' statistics still
    say they are empty) instead of comparing every row with every value; IN (...) chunks
    elsewhere."""
    if connection.vendor == "postgresql":
        yield queryset.filter(**{f"{field}__in": RawSQL("SELECT unnest(%s::text[])", [values])})
        return
    for chunk in _chunks(values):
        yield queryset.filter(**{f"{field}__in": chunk})


@transaction.atomic
def _batch_import(rows: list[FeeRow], summary: ImportSummary, default_owner: Owner) -> None:
    patron_ids = _patrons_for(rows, summary)
    rows = [row for row in rows if row.user_number in patron_ids]
    # What is here already, as (id, patron, amount) only: a model is loaded for a fee to
    # correct, which is rare.
    known = {}
    ours = JournalEntry.objects.filter(kind=EntryKind.FEE, source_system="")
    for fees in _among(ours, "external_id", [row.fee_id for row in rows]):
        known.update(
            (external_id, (pk, patron_id, amount))
            for external_id, pk, patron_id, amount in fees.values_list(
                "external_id", "pk", "patron_id", "amount_cents"
            )
        )
    new = []
    for row in rows:
        here = known.get(row.fee_id)
        if here is None:
            new.append(row)
            continue
        pk, patron_id, amount = here
        if patron_id != patron_ids[row.user_number]:
            summary.bad.append((row.line, f"fee id {row.fee_id} belongs to another patron here"))
        elif amount == row.amount_cents:
            summary.fees_unchanged += 1
        elif fee_correct(
            fee=JournalEntry.objects.get(pk=pk), amount_cents=row.amount_cents, note="import_fees"
        ).entries:
            summary.fees_corrected += 1
        else:  # corrected to this amount before
            summary.fees_unchanged += 1
    now = timezone.now()
    today = timezone.localdate(now)
    owner = default_owner.pk
    if connection.vendor == "postgresql":
        # The hot path: each fee straight into COPY's text format, only the file's own text
        # escaped (the rest are numbers, codes and our dates).
        stamp, day, currency = now.isoformat(), today.isoformat(), settings.LIBRARY_CURRENCY
        entries = [
            f"{patron_ids[row.user_number]}\tfee\t{row.amount_cents}\t{currency}\t{stamp}\t"
            f"{day}\t\\N\t{row.fee_type}\t{row.description.translate(COPY_ESCAPES)}\t\t\t\t\t\t"
            f"{row.fee_id.translate(COPY_ESCAPES)}\t{row.external_type.translate(COPY_ESCAPES)}"
            f"\t\t{row.owner_id or owner}\t\\N\t\\N\t\\N\n"
            for row in new
        ]
        _copy_lines(JournalEntry, JOURNAL_COLUMNS, entries)
    else:
        entries = [
            (patron_ids[row.user_number], EntryKind.FEE.value, row.amount_cents,
             settings.LIBRARY_CURRENCY, now, today, None, row.fee_type,
             row.description, "", "", "", "", "", row.fee_id, row.external_type, "",
             row.owner_id or owner, None, None, None)
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
    patrons = Patron.objects.all()
    existing: dict[str, int] = {}
    for found in _among(patrons, "user_number", list(first)):
        existing.update(found.values_list("user_number", "pk"))
    wanted = [row for number, row in first.items() if number not in existing]
    taken_cards, taken_ids = set(), set()
    for found in _among(patrons, "card_number", [row.card_number for row in wanted]):
        taken_cards.update(found.values_list("card_number", flat=True))
    linked = patrons.filter(source_system="")
    for found in _among(linked, "external_id", [row.patron_id for row in wanted if row.patron_id]):
        taken_ids.update(found.values_list("external_id", flat=True))
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
    user_ids, patron_ids = _new_ids(get_user_model(), creating), _new_ids(Patron, creating)
    _insert(get_user_model(), USER_COLUMNS, [
        (*user_ids(index), "!", None, False, f"patron-{row.user_number}", "", "", row.email,
         False, True, now)
        for index, row in enumerate(creating)
    ], with_ids=user_ids.given)  # fmt: skip
    if user_ids.given:
        users = {f"patron-{row.user_number}": user_ids(i)[0] for i, row in enumerate(creating)}
    else:
        users = {}
        names = [f"patron-{row.user_number}" for row in creating]
        for found in _among(get_user_model().objects.all(), "username", names):
            users.update(found.values_list("username", "pk"))
    _insert(Patron, PATRON_COLUMNS, [
        (*patron_ids(index), users[f"patron-{row.user_number}"], row.user_number,
         row.card_number, row.first_name, row.last_name, row.email, "", row.patron_id, now)
        for index, row in enumerate(creating)
    ], with_ids=patron_ids.given)  # fmt: skip
    summary.patrons_created += len(creating)
    if patron_ids.given:
        existing.update((row.user_number, patron_ids(i)[0]) for i, row in enumerate(creating))
    else:
        for found in _among(patrons, "user_number", [row.user_number for row in creating]):
            existing.update(found.values_list("user_number", "pk"))
    return existing


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """A value as COPY's text format writes it."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(COPY_ESCAPES)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


class _Ids:
    """Ids drawn from the table's own sequence for rows about to be copied in (PostgreSQL):
    then nothing has to be read back. Elsewhere the database gives them (`given` false)."""

    def __init__(self, ids: list[int] | None):
        self.ids, self.given = ids, ids is not None

    def __call__(self, index: int) -> tuple:
        return (self.ids[index],) if self.given else ()


def _new_ids(model, rows: list) -> _Ids:
    if connection.vendor != "postgresql" or not rows:
        return _Ids(None)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, len(rows)],
        )
        return _Ids([value for (value,) in cursor.fetchall()])


def _copy_lines(model, columns: tuple[str, ...], lines: list[str]) -> None:
    """Lines of COPY's text format into the model's table, in one write."""
    if not lines:
        return
    with connection.cursor() as cursor:
        statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            copy.write("".join(lines))


def _insert(model, columns: tuple[str, ...], values: Iterable[tuple], with_ids=False) -> None:
    """Rows into the model's table: with COPY on PostgreSQL, else in bulk. `with_ids`: each
    row starts with its id."""
    columns = ("id", *columns) if with_ids else columns
    values = list(values)
    if not values:
        return
    if connection.vendor == "postgresql":
        _copy_lines(model, columns, ["\t".join(map(_copy_text, value)) + "\n" for value in values])
        return
    by_column = {f.column: f.attname for f in model._meta.concrete_fields}
    names = [by_column[column] for column in columns]
    model.objects.bulk_create(
        [model(**dict(zip(names, row, strict=True))) for row in values], batch_size=500
    )
