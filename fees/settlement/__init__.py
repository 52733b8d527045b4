"""The daily settlement ("Tagesabschluss").

Offsets every unsettled credit (payment, credit note, waiver) against open
debits: first the fees the credit was made for, then the oldest debit first.
Leftover credit stays open as the patron's credit for later settlements;
refunds and reversed payments are debits like fees, so credit pays them too.

It works patron batch by patron batch, each batch one transaction with the
batch's patron rows locked, so bookings wait for it and it never sees half a
booking. Its work grows with the patrons that have unsettled entries, not with
the size of the ledger: it reads only entries not yet fully offset, through
partial indexes. A crash loses at most the batch in flight; a rerun for the
same date carries on where the last committed batch ended.

The rules of who pays what are in `offset`, on plain values; what a batch reads
and writes, and how, is in `store`.
"""

import datetime
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from fees.amounts import format_money
from fees.models import CREDIT_KINDS, DEBIT_KINDS, JournalEntry, Settlement
from fees.settlement import store
from fees.settlement.offset import offset
from fees.settlement.store import WRITE_CHUNK
from fees.signals import reserved_debit_ids

__all__ = [
    "WRITE_CHUNK",
    "SettlementError",
    "SettlementInProgress",
    "SettlementReport",
    "settlement_run",
]
_LOCK_KEY = zlib.crc32(b"fees.settlement")


class SettlementError(Exception):
    """The settlement cannot run as asked; the message says why."""


class SettlementInProgress(SettlementError):
    pass


@dataclass(frozen=True)
class SettlementReport:
    settlement: Settlement
    did_work: bool

    def summary(self) -> str:
        s = self.settlement
        currency = settings.LIBRARY_CURRENCY
        prefix = "" if self.did_work else "Already settled. "
        return (
            f"{prefix}Settlement {s.business_date}: {s.entries_settled} entries settled "
            f"(debits {format_money(s.debits_cents, currency)}, "
            f"credits {format_money(s.credits_cents, currency)}), "
            f"{s.allocations_made} allocations made "
            f"({format_money(s.allocated_cents, currency)} offset)."
        )


ProgressCallback = Callable[[int, int], None]


def settlement_run(
    *,
    business_date: datetime.date,
    batch_patrons: int | None = None,
    progress: ProgressCallback | None = None,
) -> SettlementReport:
    """Settle everything booked up to and including `business_date`.

    Settling a day that is still going on (today) is allowed; what is booked
    for it after its patrons' batch has run waits for the next settlement.
    """
    batch_patrons = batch_patrons or settings.SETTLEMENT_BATCH_PATRONS
    if business_date > timezone.localdate():
        raise SettlementError(f"{business_date} is in the future; it cannot be settled yet.")

    with _one_run_at_a_time():
        settlement = _settlement_for(business_date)
        if settlement.is_finished:
            return SettlementReport(settlement=settlement, did_work=False)

        total = _patrons_to_settle(business_date).count()
        done = 0
        last_patron_id = 0
        while True:
            patron_ids = list(
                _patrons_to_settle(business_date, after=last_patron_id).order_by("patron_id")[
                    :batch_patrons
                ]
            )
            if not patron_ids:
                break
            with transaction.atomic():
                _settle_batch(settlement, patron_ids)
            last_patron_id = patron_ids[-1]
            done += len(patron_ids)
            if progress:
                progress(done, total)

        with transaction.atomic():
            _finish(settlement)
    return SettlementReport(settlement=settlement, did_work=True)


def _patrons_to_settle(business_date: datetime.date, after: int = 0):
    """Patrons with entries not settled yet, and patrons whose credit was carried forward
    (it may have waited for a fee reserved by an online payment that has ended since)."""
    unsettled = JournalEntry.objects.filter(
        settled_in__isnull=True, business_date__lte=business_date, patron_id__gt=after
    )
    carried = JournalEntry.objects.filter(
        kind__in=CREDIT_KINDS,
        settled_in__isnull=False,
        cleared_in__isnull=True,
        patron_id__gt=after,
    )
    return (
        unsettled.order_by()
        .values_list("patron_id", flat=True)
        .union(carried.order_by().values_list("patron_id", flat=True))
    )


@contextmanager
def _one_run_at_a_time() -> Iterator[None]:
    if connection.vendor == "postgresql":
        # A session lock: released by the server if this process dies.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
            (acquired,) = cursor.fetchone()
        if not acquired:
            raise SettlementInProgress("Another settlement is running; try again when it ends.")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    else:
        # SQLite has one writer at a time: a run-long IMMEDIATE transaction is the lock.
        with transaction.atomic():
            yield


def _settlement_for(business_date: datetime.date) -> Settlement:
    with transaction.atomic():
        unfinished = (
            Settlement.objects.filter(finished_at__isnull=True)
            .exclude(business_date=business_date)
            .first()
        )
        if unfinished:
            raise SettlementError(
                f"The settlement of {unfinished.business_date} did not finish; "
                f"run it again first (settle --date {unfinished.business_date})."
            )
        later = Settlement.objects.filter(business_date__gt=business_date).first()
        if later:
            raise SettlementError(
                f"{later.business_date} is already settled, which included everything "
                f"booked up to then; {business_date} cannot be settled after it."
            )
        settlement, _ = Settlement.objects.get_or_create(business_date=business_date)
        return settlement


def _settle_batch(settlement: Settlement, patron_ids: list[int]) -> None:
    store.lock_patrons(patron_ids)

    rows = store.open_entries(patron_ids, settlement.business_date)
    open_cents = {row[0]: abs(row[3]) for row in rows}
    # Only entries settled before can have allocations.
    earlier = store.allocated_before([row[0] for row in rows if row[5] is not None])
    for entry_id, total in earlier.items():
        open_cents[entry_id] -= total
    paid_for = store.paid_for(patron_ids)
    shares = store.payment_shares(patron_ids)
    roots = store.fee_roots(patron_ids)
    reserved = reserved_debit_ids(patron_ids)

    by_patron = {}
    for entry_id, patron_id, kind, _amount, target_id, _settled_in in rows:
        by_patron.setdefault(patron_id, []).append((entry_id, kind, target_id))
    pairs = []
    for entries in by_patron.values():
        pairs.extend(offset(entries, open_cents, paid_for, reserved, shares, roots))

    marks = []
    entries_settled = debits = credits = 0
    for entry_id, _patron, kind, amount, _target, settled_in in rows:
        new = settled_in is None
        cleared = not open_cents[entry_id]
        if new:
            entries_settled += 1
            if kind in DEBIT_KINDS:
                debits += amount
            elif kind in CREDIT_KINDS:
                credits -= amount
        if new or cleared:
            marks.append((entry_id, new, cleared))
    # Ids follow the order rows were stored in: the UPDATE then walks the table page by page.
    marks.sort()
    store.write(settlement.pk, pairs, marks)
    # Counted in the batch's own transaction, so the totals survive a crash and a rerun.
    Settlement.objects.filter(pk=settlement.pk).update(
        entries_settled=F("entries_settled") + entries_settled,
        debits_cents=F("debits_cents") + debits,
        credits_cents=F("credits_cents") + credits,
        allocations_made=F("allocations_made") + len(pairs),
        allocated_cents=F("allocated_cents") + sum(cents for _c, _d, cents in pairs),
    )


def _finish(settlement: Settlement) -> None:
    Settlement.objects.filter(pk=settlement.pk).update(finished_at=timezone.now())
    settlement.refresh_from_db()
