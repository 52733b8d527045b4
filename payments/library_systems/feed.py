"""The library system's feed of money movements: what each delivery tells it, read
from the ledger's outbox (Delivery, PaymentShare, JournalEntry), and the cursor that
pages through them in commit order."""

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Prefetch, Q
from django.db.models.expressions import RawSQL

from fees.models import Delivery, EntryKind, FeeType, JournalEntry, PaymentShare
from payments.library_systems.base import FeeShare, Movement


def movements_for(deliveries: list[Delivery]) -> list[Movement]:
    """What the library system is told of each delivery's booking, in three queries."""
    entries = JournalEntry.objects.filter(pk__in=[d.entry_id for d in deliveries])
    shares = PaymentShare.objects.select_related("fee__target").order_by("pk")
    by_id = {
        entry.pk: entry
        for entry in entries.select_related("patron", "owner").prefetch_related(
            Prefetch("shares", queryset=shares)
        )
    }
    return [movement(delivery, by_id[delivery.entry_id]) for delivery in deliveries]


def library_fee(debit: JournalEntry) -> JournalEntry:
    """The fee the library system knows a debit as: an increase is part of its fee there.
    (A reversal's debit is not: the library system books what it re-opens anew.)"""
    if debit.kind == EntryKind.FEE and debit.target_id is not None:
        return debit.target
    return debit


def is_service_fee(debit: JournalEntry | None) -> bool:
    """A service fee is the portal's own: the library system never hears of it, nor of
    the part of a payment that paid it."""
    return debit is not None and debit.fee_type == FeeType.SERVICE_FEE


def movement(delivery: Delivery, entry: JournalEntry) -> Movement:
    every_share = list(entry.shares.all())
    shares = [share for share in every_share if not is_service_fee(share.fee)]
    service_fees = sum(share.amount_cents for share in every_share if is_service_fee(share.fee))
    return Movement(
        key=delivery.key,
        kind=entry.kind,
        entry_id=entry.pk,
        booked_at=entry.booked_at,
        amount_cents=abs(entry.amount_cents) - service_fees,
        currency=entry.currency,
        method=entry.method,
        reference=entry.reference,
        patron_user_number=entry.patron.user_number,
        patron_external_id=entry.patron.external_id,
        shares=tuple(
            FeeShare(
                entry_id=share.fee_id,
                fee_id=library_fee(share.fee).external_id,
                fee_type=library_fee(share.fee).external_type,
                amount_cents=share.amount_cents,
            )
            for share in shares
            if share.fee is not None
        ),
        unassigned_cents=sum(share.amount_cents for share in shares if share.fee is None),
        reverses_entry_id=entry.target_id if entry.kind == EntryKind.REVERSAL else None,
        owner_code=entry.owner.code if entry.owner and not entry.owner.is_default else "",
        owner_service_point=entry.owner.library_service_point if entry.owner else "",
        owner_payment_method=entry.owner.library_payment_method if entry.owner else "",
    )


@dataclass(frozen=True)
class MovementPage:
    movements: list[Movement]
    next_cursor: str


def money_movements(*, cursor: str = "", limit: int = 100) -> MovementPage:
    """The feed of money movements, oldest first, from after `cursor` ("" from the start):
    those the library system is told of, as by delivery (not `Delivery.NOT_SENT`).

    On PostgreSQL rows are ordered by the id of the transaction that booked them and only
    rows below the oldest transaction still running (FEED_HORIZON) are read: a booking
    that commits after a later one is still ahead of the cursor when it appears. (A plain
    "id > cursor" would skip it.) SQLite has one writer at a time, so there ids are in
    commit order already.
    """
    after_txid, after_id = parse_cursor(cursor)
    # Left out by the query, not after it: the cursor is the last row listed, and a row
    # behind it that was not listed is one the feed never lists.
    rows = Delivery.objects.filter(
        Q(txid__gt=after_txid) | Q(txid=after_txid, id__gt=after_id)
    ).exclude(status__in=Delivery.NOT_SENT)
    if connection.vendor == "postgresql":
        rows = rows.filter(txid__lt=RawSQL(FEED_HORIZON, []))
    page = list(rows.order_by("txid", "id")[:limit])
    last = page[-1] if page else None
    next_cursor = f"{last.txid}.{last.id}" if last else cursor
    return MovementPage(movements=movements_for(page), next_cursor=next_cursor)


# The oldest transaction of this database still running when the statement's snapshot was
# taken (or, with none, the snapshot's upper bound): rows below it can no longer be
# preceded by a commit. Transactions of other databases on the server are left out when
# pg_stat_activity names them, so they cannot hold the feed back; one it does not name
# counts, which may delay the feed but never skips a row.
FEED_HORIZON = """
    COALESCE(
        (SELECT min(running::text::bigint)
           FROM pg_snapshot_xip(pg_current_snapshot()) AS running
          WHERE mod(running::text::bigint, 4294967296) NOT IN (
                SELECT backend_xid::text::bigint FROM pg_stat_activity
                 WHERE backend_xid IS NOT NULL
                   AND datname IS DISTINCT FROM current_database())),
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
"""


class BadCursor(ValueError):
    """A cursor the feed never gave out."""


# What the feed gives out: "{txid}.{id}", both in ASCII digits without leading zeros.
# Python's int() would also take " 5", "+5", "1_0" and other scripts' digits.
CURSOR = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", re.ASCII)
BIGINT_MAX = 2**63 - 1


def parse_cursor(cursor: str) -> tuple[int, int]:
    if not cursor:
        return 0, 0
    match = CURSOR.fullmatch(cursor)
    if match is None:
        raise BadCursor(cursor)
    txid, row_id = int(match[1]), int(match[2])
    if txid > BIGINT_MAX or row_id > BIGINT_MAX:
        raise BadCursor(cursor)
    return txid, row_id
