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
"""

import datetime
import itertools
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import Patron
from fees.models import (
    CREDIT_KINDS,
    DEBIT_KINDS,
    TARGETED_CREDIT_KINDS,
    Allocation,
    JournalEntry,
    Settlement,
)
from fees.signals import settlement_held_debits

WRITE_CHUNK = 5000
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
            f"(debits {s.debits_cents / 100:.2f} {currency}, credits {s.credits_cents / 100:.2f} "
            f"{currency}), {s.allocations_made} allocations made "
            f"({s.allocated_cents / 100:.2f} {currency} offset)."
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
    (it may have waited for a fee held by an online payment that has ended since)."""
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


@dataclass
class _Item:
    id: int
    patron_id: int
    kind: str
    amount: int
    open_cents: int
    target_id: int | None
    settled: bool


def _settle_batch(settlement: Settlement, patron_ids: list[int]) -> None:
    business_date = settlement.business_date
    list(Patron.objects.select_for_update().filter(pk__in=patron_ids).order_by("pk").values("pk"))

    rows = (
        JournalEntry.objects.filter(
            patron_id__in=patron_ids, cleared_in__isnull=True, business_date__lte=business_date
        )
        .order_by("booked_at", "pk")
        .values_list("pk", "patron_id", "kind", "amount_cents", "target_id", "settled_in_id")
    )
    items = [
        _Item(pk, patron_id, kind, abs(amount), abs(amount), target_id, settled_in_id is not None)
        for pk, patron_id, kind, amount, target_id, settled_in_id in rows
    ]
    by_id = {item.id: item for item in items}
    # Only entries settled before can have allocations.
    settled_before = [item.id for item in items if item.settled]
    for side in ("debit", "credit"):
        already = (
            Allocation.objects.filter(**{f"{side}_id__in": settled_before})
            .values(side)
            .annotate(total=Sum("amount_cents"))
            .values_list(side, "total")
        )
        for item_id, total in already:
            by_id[item_id].open_cents -= total

    paid_for = defaultdict(list)
    for payment_id, fee_id in JournalEntry.for_fees.through.objects.filter(
        from_journalentry__patron_id__in=patron_ids,
        from_journalentry__settled_in__isnull=True,
    ).values_list("from_journalentry_id", "to_journalentry_id"):
        paid_for[payment_id].append(fee_id)

    held = set().union(
        *(ids for _receiver, ids in settlement_held_debits.send(Settlement, patron_ids=patron_ids))
    )
    by_patron = defaultdict(list)
    for item in items:
        by_patron[item.patron_id].append(item)
    allocations = []
    for patron_items in by_patron.values():
        allocations.extend(_offset(settlement, patron_items, paid_for, held))

    Allocation.objects.bulk_create(allocations, batch_size=WRITE_CHUNK)
    # Each row is written once: new entries offset in full get both marks together.
    new = [item for item in items if not item.settled]
    _mark([i.id for i in new if i.open_cents == 0], settled_in=settlement, cleared_in=settlement)
    JournalEntry.objects.filter(
        patron_id__in=patron_ids, settled_in__isnull=True, business_date__lte=business_date
    ).update(settled_in=settlement)
    _mark([i.id for i in items if i.settled and i.open_cents == 0], cleared_in=settlement)
    # Counted in the batch's own transaction, so the totals survive a crash and a rerun.
    Settlement.objects.filter(pk=settlement.pk).update(
        entries_settled=F("entries_settled") + len(new),
        debits_cents=F("debits_cents") + sum(i.amount for i in new if i.kind in DEBIT_KINDS),
        credits_cents=F("credits_cents") + sum(i.amount for i in new if i.kind in CREDIT_KINDS),
        allocations_made=F("allocations_made") + len(allocations),
        allocated_cents=F("allocated_cents") + sum(a.amount_cents for a in allocations),
    )


def _mark(entry_ids: list[int], **marks) -> None:
    for start in range(0, len(entry_ids), WRITE_CHUNK):
        JournalEntry.objects.filter(pk__in=entry_ids[start : start + WRITE_CHUNK]).update(**marks)


def _offset(
    settlement: Settlement, items: list[_Item], paid_for: dict[int, list[int]], held: set[int]
) -> list[Allocation]:
    """Allocate one patron's open credits to their open debits, in the SPEC's order.

    A held debit is left to the payment holding it (a waiver still lands on its own fee);
    credit with only held debits left stays on the account for a later settlement.
    """
    debit_by_id = {item.id: item for item in items if item.kind not in CREDIT_KINDS}
    debits = [debit for debit in debit_by_id.values() if debit.id not in held]
    # Waivers and reductions first: each is meant for one fee and must land there.
    credits = sorted(
        (item for item in items if item.kind in CREDIT_KINDS),
        key=lambda item: item.kind not in TARGETED_CREDIT_KINDS,
    )
    allocations = []
    first_open = 0  # debits before it are paid in full: the oldest-first pass starts here
    for credit in credits:
        if credit.kind in TARGETED_CREDIT_KINDS:
            targets = [credit.target_id]
        else:
            targets = [i for i in paid_for.get(credit.id, []) if i not in held]
        preferred = [debit_by_id[i] for i in targets if i in debit_by_id]
        while first_open < len(debits) and debits[first_open].open_cents == 0:
            first_open += 1
        # A preferred debit met again in the oldest-first pass has nothing left (or the
        # credit has run out), so no pair is allocated twice.
        for debit in itertools.chain(preferred, debits[first_open:]):
            if credit.open_cents == 0:
                break
            cents = min(credit.open_cents, debit.open_cents)
            if cents == 0:
                continue
            credit.open_cents -= cents
            debit.open_cents -= cents
            allocations.append(
                Allocation(
                    settlement=settlement,
                    credit_id=credit.id,
                    debit_id=debit.id,
                    amount_cents=cents,
                )
            )
    return allocations


def _finish(settlement: Settlement) -> None:
    Settlement.objects.filter(pk=settlement.pk).update(finished_at=timezone.now())
    settlement.refresh_from_db()
