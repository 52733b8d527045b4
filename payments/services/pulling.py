"""`manage.py pull_fees`: every patron's fees read from the library system, say nightly.

Patrons are read in batches in the order of their id, each batch by a few threads at once
(LIBRARY_SYSTEM_PARALLEL_READS), every request to the library system spaced by its rate
(LIBRARY_SYSTEM_MAX_REQUESTS_PER_SECOND, across the threads). After each batch the run
records how far it got (PullRun), so a run stopped part-way goes on from there: at most
one batch is read again, which changes nothing.
"""

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Patron
from fees.models import EntryKind, JournalEntry
from payments.models import OPEN_STATUSES, PaymentOrder, PullRun
from payments.services.live_fees import fees_read, reading_target

BATCH = 100


class RateLimiter:
    """At most `per_second` starts a second, shared by every thread that asks."""

    def __init__(self, per_second: float, *, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1 / per_second if per_second > 0 else 0
        self.clock, self.sleep = clock, sleep
        self.next_start = clock()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            self.sleep(start - now)


class ThrottledSession(requests.Session):
    def __init__(self, limiter: RateLimiter):
        super().__init__()
        self.limiter = limiter

    def request(self, *args, **kwargs):
        self.limiter.wait()
        return super().request(*args, **kwargs)


@dataclass
class PullSummary:
    run: PullRun
    total: int
    seconds: float

    @property
    def line(self) -> str:
        run = self.run
        rate = run.read / self.seconds if self.seconds else 0
        return (
            f"Read the fees of {run.read} of {self.total} patrons from the library system: "
            f"{run.changed} changed, {run.read - run.changed - run.failed} unchanged, "
            f"{run.failed} failed ({self.seconds:.1f} s, {rate:.1f} patrons/s)."
        )


def patrons_to_pull(selection: str, user_numbers: Iterable[str] = ()):
    """The linked patrons a run reads: those named, all, or (the default) those with fees
    open here or a payment in progress."""
    linked = Patron.objects.exclude(external_id="")
    if selection == "named":
        return linked.filter(user_number__in=list(user_numbers))
    if selection == "all":
        return linked
    open_fees = JournalEntry.objects.filter(
        patron=OuterRef("pk"), kind=EntryKind.FEE, cleared_in__isnull=True
    )
    open_orders = PaymentOrder.objects.filter(patron=OuterRef("pk"), status__in=OPEN_STATUSES)
    return linked.filter(Q(Exists(open_fees)) | Q(Exists(open_orders)))


def pull_fees(
    *,
    selection: str = "open",
    user_numbers: Iterable[str] = (),
    restart: bool = False,
    progress: Callable[[PullRun, int], None] | None = None,
) -> PullSummary:
    """Read the selected patrons' fees, going on from an unfinished run of the same
    selection unless `restart`."""
    if reading_target() is None:
        raise ValueError("The library system's target cannot read fees (LIBRARY_SYSTEM_TARGET).")
    patrons = patrons_to_pull(selection, user_numbers).order_by("pk")
    run = None if restart or selection == "named" else (
        PullRun.objects.filter(selection=selection, finished_at__isnull=True).first()
    )  # fmt: skip
    if run is None:
        run = PullRun.objects.create(started_at=timezone.now(), selection=selection)
    total = patrons.count()
    limiter = RateLimiter(settings.LIBRARY_SYSTEM_MAX_REQUESTS_PER_SECOND)
    local = threading.local()
    started = time.monotonic()

    def read_one(patron_id: int) -> str:
        if not hasattr(local, "target"):
            local.target = reading_target()
            local.target.session = ThrottledSession(limiter)
        try:
            patron = Patron.objects.get(pk=patron_id)
            state = fees_read(patron=patron, target=local.target)
            return "failed" if not state.ok else "changed" if state.changed else "unchanged"
        finally:
            connection.close()  # each thread's own; none is left open when the run ends

    with ThreadPoolExecutor(max_workers=max(1, settings.LIBRARY_SYSTEM_PARALLEL_READS)) as pool:
        while True:
            batch = list(patrons.filter(pk__gt=run.done_up_to).values_list("pk", flat=True)[:BATCH])
            if not batch:
                break
            outcomes = list(pool.map(read_one, batch))
            run.done_up_to = batch[-1]
            run.read += len(outcomes)
            run.changed += outcomes.count("changed")
            run.failed += outcomes.count("failed")
            run.save(update_fields=["done_up_to", "read", "changed", "failed"])
            if progress:
                progress(run, total)
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at"])
    return PullSummary(run=run, total=total, seconds=time.monotonic() - started)
