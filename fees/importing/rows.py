"""The export's rows: read from CSV or JSON lines, and checked one by one.

Every check that needs only the row itself (and the fee ids seen before it) is made here,
for both ways of writing, so that a row is good or bad by one set of rules; what depends
on the database (the patrons, the fees here already) is judged where the rows are written.
"""

import csv
import datetime
import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from django.conf import settings

from accounts.cards import normalize_card_number
from accounts.models import Patron, is_user_number
from fees.models import FeeKind, FeeType, JournalEntry, Owner

COLUMNS = ("user_number", "card_number", "first_name", "last_name", "email", "patron_id",
           "fee_id", "type", "owner", "amount", "currency", "date", "description")  # fmt: skip
REQUIRED = ("user_number", "card_number", "last_name", "fee_id", "amount", "currency",
            "description")  # fmt: skip
(USER_NUMBER, CARD_NUMBER, FIRST_NAME, LAST_NAME, EMAIL, PATRON_ID, FEE_ID, TYPE, OWNER,
 AMOUNT, CURRENCY, DATE, DESCRIPTION) = range(len(COLUMNS))  # fmt: skip
REQUIRED_AT = [(COLUMNS.index(name), name) for name in REQUIRED]
# Where each column is stored, so that a value too long for its column is a bad row and
# not a database error that would fail its whole batch. The description is cut to fit
# instead: it is only the library system's wording.
STORED_IN = {
    "user_number": Patron._meta.get_field("user_number"),
    "first_name": Patron._meta.get_field("first_name"),
    "last_name": Patron._meta.get_field("last_name"),
    "email": Patron._meta.get_field("email"),
    "patron_id": Patron._meta.get_field("external_id"),
    "fee_id": JournalEntry._meta.get_field("external_id"),
    "type": JournalEntry._meta.get_field("external_type"),
}
# The card number is measured as it is stored: without its spacing.
CARD_LENGTH = Patron._meta.get_field("card_number").max_length
DESCRIPTION_LENGTH = JournalEntry._meta.get_field("description").max_length


class BadRow(ValueError):
    pass


class FeeRow(NamedTuple):
    """A good row, in the order of the PostgreSQL path's staging table."""

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
    owner_id: int
    amount_cents: int
    description: str


def records(path: Path) -> Iterator[tuple[int, list[str] | None]]:
    """(line number, the row's fields in COLUMNS order) per row of a CSV file with a header
    or of JSON lines; None for a line that is not a JSON object."""
    with path.open(encoding="utf-8", newline="") as stream:
        first = stream.read(1)
        stream.seek(0)
        if first == "{":
            yield from _json_records(stream)
            return
        reader = csv.reader(stream)
        header = next(reader, [])
        where = [header.index(name) if name in header else None for name in COLUMNS]
        if None not in where:
            # Every column there, the common case: each row's fields picked and stripped
            # in C, with no look at each field from Python.
            pick, width = itemgetter(*where), len(header)
            for row in reader:
                if len(row) >= width:
                    yield reader.line_num, list(map(str.strip, pick(row)))
                else:
                    yield reader.line_num, _picked(row, where)
            return
        for row in reader:
            yield reader.line_num, _picked(row, where)


def _picked(row: list[str], where: list[int | None]) -> list[str]:
    width = len(row)
    return [row[index].strip() if index is not None and index < width else "" for index in where]


def _json_records(stream) -> Iterator[tuple[int, list[str] | None]]:
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            yield number, None
            continue
        yield number, [_text(record.get(name)) for name in COLUMNS]


def _text(value) -> str:
    """A field as text (JSON lines may give numbers)."""
    if isinstance(value, str):
        return value.strip()
    return "" if value is None else str(value).strip()


class Checker:
    """Turns records into FeeRows, or says why not. One per import: a fee id is taken
    once in the whole file."""

    def __init__(self, default_owner: Owner):
        self.kinds = set(FeeKind.objects.values_list("code", flat=True))
        self.owners = dict(Owner.objects.values_list("code", "pk"))
        self.default_owner = default_owner.pk  # the owner of fees that name none
        self.fee_ids: set[str] = set()
        self.user_numbers: set[str] = set()  # the good ones: each patron has many rows
        self.other = FeeType.OTHER.value
        self.currency = settings.LIBRARY_CURRENCY
        self.limits = [
            (COLUMNS.index(name), name, field.max_length) for name, field in STORED_IN.items()
        ]
        # Each row is looked at once as a whole in C; field by field only when it fails.
        self.required = itemgetter(*(index for index, _name in REQUIRED_AT))
        self.limited = itemgetter(*(index for index, _name, _limit in self.limits))
        self.shortest = min(limit for _index, _name, limit in self.limits)

    def row(self, line: int, values: list[str] | None) -> FeeRow:
        if values is None:
            raise BadRow("not a JSON object")
        if not all(self.required(values)):
            missing = [name for index, name in REQUIRED_AT if not values[index]]
            raise BadRow(f"missing {', '.join(missing)}")
        if max(map(len, self.limited(values))) > self.shortest:
            for index, name, limit in self.limits:
                if len(values[index]) > limit:
                    raise BadRow(f"{name} is longer than {limit} characters")
        user_number = values[USER_NUMBER]
        if user_number not in self.user_numbers:
            if not is_user_number(user_number):
                raise BadRow(f"user number {user_number!r} is not one (letters, digits, _.@+-)")
            self.user_numbers.add(user_number)
        if values[CURRENCY] != self.currency and values[CURRENCY].upper() != self.currency:
            raise BadRow(f"currency {values[CURRENCY]} is not the library's")
        cents = cents_of(values[AMOUNT])
        if values[DATE]:
            try:
                datetime.date.fromisoformat(values[DATE])
            except ValueError as error:
                raise BadRow(f"date {values[DATE]!r} is not YYYY-MM-DD") from error
        owner = values[OWNER]
        if owner and owner not in self.owners:
            raise BadRow(f"unknown owner {owner}: add it in the admin first")
        card = values[CARD_NUMBER]
        card = card.upper() if card.isalnum() else normalize_card_number(card)
        if not card:
            raise BadRow("missing card_number")
        if len(card) > CARD_LENGTH:
            raise BadRow(f"card_number is longer than {CARD_LENGTH} characters")
        fee_id = values[FEE_ID]
        if fee_id in self.fee_ids:
            raise BadRow(f"fee id {fee_id} appears twice")
        self.fee_ids.add(fee_id)
        fee_type = values[TYPE]
        return FeeRow(
            line, user_number, card, values[FIRST_NAME], values[LAST_NAME], values[EMAIL],
            values[PATRON_ID], fee_id, fee_type if fee_type in self.kinds else self.other,
            fee_type, self.owners[owner] if owner else self.default_owner, cents,
            values[DESCRIPTION][:DESCRIPTION_LENGTH],
        )  # fmt: skip


LARGEST_CENTS = 10**15  # as many digits as the plain form allows; well within a bigint
PLAIN_AMOUNT = re.compile(r"(\d{1,13})(?:[.,](\d{1,2}))?")


def cents_of(text: str) -> int:
    """An amount as the export writes it ("5", "5.5", "5,50") in cents."""
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
    if cents >= LARGEST_CENTS:
        raise BadRow(f"amount {text!r} is too large")
    return int(cents)
