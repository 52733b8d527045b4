"""The delivery worker (`manage.py deliver`): rounds of sending what is due, and what a
round reports. The command only parses its options and writes the report."""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from fees.models import Delivery
from payments.library_systems import get_target, of_system, systems
from payments.library_systems.base import Target
from payments.library_systems.config import SystemConfig
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


def waiting_count(system: SystemConfig | None = None) -> int:
    """Deliveries waiting to be sent: to `system`, or to any library system."""
    waiting = Delivery.objects.filter(status__in=Delivery.DUE)
    return (waiting.filter(of_system(system)) if system else waiting).count()


def summary(outcomes: Counter) -> str:
    return (
        f"{outcomes[Status.DELIVERED]} delivered, {outcomes[Status.RETRYING]} to retry, "
        f"{outcomes[Status.FAILED]} refused"
    )


def deliver_round(
    *,
    target: Target,
    system: SystemConfig | None = None,
    limit: int | None = None,
    progress: Callable | None = None,
) -> Round:
    """Send what is due now to one library system (at most `limit`), then count what is
    left for it."""
    system = system or SystemConfig.portal()
    outcomes = deliveries_send_due(target=target, system=system, limit=limit, progress=progress)
    return Round(
        target=f"{target.name} ({system.name})" if system.name else target.name,
        outcomes=outcomes,
        waiting=waiting_count(system),
        failed=Delivery.objects.filter(of_system(system), status=Status.FAILED).count(),
    )


def configured_targets() -> list[tuple[SystemConfig, Target]]:
    """Each library system that has a target, with it."""
    return [(system, target) for system in systems() if (target := get_target(config=system))]


def deliver_rounds(
    *,
    targets: list[tuple[SystemConfig, Target]],
    loop: bool,
    every: float,
    limit: int | None,
    progress: Callable | None,
    report: Callable[[Round], None],
) -> None:
    """One round to each library system, or with `loop` one every `every` seconds until
    interrupted."""
    while True:
        for system, target in targets:
            report(deliver_round(target=target, system=system, limit=limit, progress=progress))
        if not loop:
            break
        time.sleep(every)
