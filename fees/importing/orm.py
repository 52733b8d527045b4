"""Writing a batch through the ORM, for databases without the PostgreSQL fast path (the
tests' SQLite): lookups in chunks, then bulk inserts."""

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import Patron
from fees.importing.booking import (
    CARD_TAKEN,
    PATRON_ID_TAKEN,
    SOURCE_SYSTEM,
    USERNAME_TAKEN,
    ImportSummary,
    refusal,
    take_known,
    username_for,
)
from fees.importing.rows import FeeRow
from fees.models import EntryKind, JournalEntry

LOOKUP_CHUNK = 500  # values per IN (...): well within SQLite's parameter limit
INSERT_CHUNK = 500


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _values(queryset, field: str, values: list, *columns: str) -> Iterator[tuple]:
    """`columns` of the rows whose `field` is one of `values`."""
    for chunk in _chunks(values):
        yield from queryset.filter(**{f"{field}__in": chunk}).values_list(*columns)


class OrmWriter:
    def close(self) -> None:
        pass

    def after(self, summary: ImportSummary, batch_size: int) -> None:
        pass

    def stage(self, rows: list[FeeRow]) -> list[FeeRow]:
        return rows

    def write(self, rows: list[FeeRow], summary: ImportSummary) -> None:
        """One batch; the caller holds it in one transaction."""
        patron_ids = self._patrons_for(rows, summary)
        rows = [row for row in rows if row.user_number in patron_ids]
        ours = JournalEntry.objects.filter(kind=EntryKind.FEE, source_system=SOURCE_SYSTEM)
        known = {
            external_id: rest
            for external_id, *rest in _values(
                ours, "external_id", [row.fee_id for row in rows],
                "external_id", "pk", "patron_id", "amount_cents",
            )
        }  # fmt: skip
        new = []
        for row in rows:
            here = known.get(row.fee_id)
            if here is None:
                new.append(row)
                continue
            pk, patron_id, amount = here
            take_known(
                summary, line=row.line, fee_id=row.fee_id, pk=pk,
                same_patron=patron_id == patron_ids[row.user_number], amount_here=amount,
                amount_cents=row.amount_cents,
            )  # fmt: skip
        now = timezone.now()
        today = timezone.localdate(now)
        JournalEntry.objects.bulk_create(
            [
                JournalEntry(
                    patron_id=patron_ids[row.user_number],
                    kind=EntryKind.FEE,
                    amount_cents=row.amount_cents,
                    currency=settings.LIBRARY_CURRENCY,
                    booked_at=now,
                    business_date=today,
                    fee_type=row.fee_type,
                    description=row.description,
                    source_system=SOURCE_SYSTEM,
                    external_id=row.fee_id,
                    external_type=row.external_type,
                    owner_id=row.owner_id,
                )
                for row in new
            ],
            batch_size=INSERT_CHUNK,
        )
        summary.fees_booked += len(new)

    def _patrons_for(self, rows: list[FeeRow], summary: ImportSummary) -> dict[str, int]:
        """Patron ids by user number: those here, and those created now."""
        first: dict[str, FeeRow] = {}
        for row in rows:
            first.setdefault(row.user_number, row)
        patrons = Patron.objects.all()
        existing = dict(_values(patrons, "user_number", list(first), "user_number", "pk"))
        wanted = [row for number, row in first.items() if number not in existing]
        refused = _refusals(wanted)
        for row in rows:
            if row.user_number in refused:
                summary.bad.append((row.line, refusal(row.user_number, refused[row.user_number])))
        creating = [row for row in wanted if row.user_number not in refused]
        if not creating:
            return existing
        now = timezone.now()
        User = get_user_model()
        User.objects.bulk_create(
            [
                User(
                    password=make_password(None),
                    username=username_for(row.user_number),
                    email=row.email,
                    is_staff=False,
                    is_active=True,
                    date_joined=now,
                )
                for row in creating
            ],
            batch_size=INSERT_CHUNK,
        )
        users = dict(
            _values(
                User.objects.all(), "username", [username_for(row.user_number) for row in creating],
                "username", "pk",
            )
        )  # fmt: skip
        Patron.objects.bulk_create(
            [
                Patron(
                    user_id=users[username_for(row.user_number)],
                    user_number=row.user_number,
                    card_number=row.card_number,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    email=row.email,
                    source_system=SOURCE_SYSTEM,
                    external_id=row.patron_id,
                    created_at=now,
                )
                for row in creating
            ],
            batch_size=INSERT_CHUNK,
        )
        summary.patrons_created += len(creating)
        numbers = [row.user_number for row in creating]
        existing.update(_values(patrons, "user_number", numbers, "user_number", "pk"))
        return existing


def _refusals(wanted: list[FeeRow]) -> dict[str, str]:
    """Why each patron not here yet that cannot be created is refused (booking's rules)."""
    patrons = Patron.objects.all()
    linked = patrons.filter(source_system=SOURCE_SYSTEM)
    users = get_user_model().objects.all()
    cards = _taken(patrons, "card_number", [row.card_number for row in wanted])
    ids = _taken(linked, "external_id", [row.patron_id for row in wanted if row.patron_id])
    names = _taken(users, "username", [username_for(row.user_number) for row in wanted])
    refused, claimed_cards, claimed_ids = {}, set(), set()
    for row in wanted:  # in the order of their first lines
        if row.card_number in cards:
            refused[row.user_number] = CARD_TAKEN
        elif row.patron_id and row.patron_id in ids:
            refused[row.user_number] = PATRON_ID_TAKEN
        elif username_for(row.user_number) in names:
            refused[row.user_number] = USERNAME_TAKEN
        else:
            # The first new patron with a card number or id claims it, even if it is
            # refused for the other.
            if row.card_number in claimed_cards:
                refused[row.user_number] = CARD_TAKEN
            elif row.patron_id and row.patron_id in claimed_ids:
                refused[row.user_number] = PATRON_ID_TAKEN
            claimed_cards.add(row.card_number)
            if row.patron_id:
                claimed_ids.add(row.patron_id)
    return refused


def _taken(queryset, field: str, values: list) -> set:
    return {value for (value,) in _values(queryset, field, values, field)}
