"""The delivery worker (`manage.py deliver`): rounds of sending what is due, and what a
round reports. The command only parses its options and writes the report."""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from fees.models import Delivery
from payments.library_systems.base import Target
from payments.library_systems.deliveries import deliveries_send_due

Status = Delivery.Status


@dataclass(frozen=True)
class Round:
    target: str
    outcomes: Counter
    waiting: int
    failed: int

    @property
    def line(self) -> str:
        return (
            f"Deliveries to {self.target}: {summary(self.outcomes)}; "
            f"{self.waiting} waiting, {self.failed} refused and waiting for staff."
        )


def waiting_count() -> int:
    return Delivery.objects.filter(status__in=Delivery.DUE).count()


def summary(outcomes: Counter) -> str:
    return (
        f"{outcomes[Status.DELIVERED]} delivered, {outcomes[Status.RETRYING]} to retry, "
        f"{outcomes[Status.FAILED]} refused"
    )


def deliver_round(
    *, target: Target, limit: int | None = None, progress: Callable | None = None
) -> Round:
    """Send what is due now (at most `limit`), then count what is left."""
    outcomes = deliveries_send_due(target=target, limit=limit, progress=progress)
    return Round(
        target=target.name,
        outcomes=outcomes,
        waiting=waiting_count(),
        failed=Delivery.objects.filter(status=Status.FAILED).count(),
    )


def deliver_rounds(
    *,
    target: Target,
    loop: bool,
    every: float,
    limit: int | None,
    progress: Callable | None,
    report: Callable[[Round], None],
) -> None:
    """One round, or with `loop` one every `every` seconds until interrupted."""
    while True:
        report(deliver_round(target=target, limit=limit, progress=progress))
        if not loop:
            break
        time.sleep(every)
