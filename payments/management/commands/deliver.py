import sys
import time

from django.core.management.base import BaseCommand, CommandError

from fees.models import Delivery
from payments.library_systems import get_target
from payments.services.deliveries import DUE, deliveries_send_due

Status = Delivery.Status


class Command(BaseCommand):
    help = (
        "Send payments, reversals and refunds to the library system (LIBRARY_SYSTEM_TARGET). "
        "Safe to run from cron or in a loop on several machines at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="Keep running, looking again every --every."
        )
        parser.add_argument(
            "--every", type=float, default=5.0, help="Seconds between rounds with --loop."
        )
        parser.add_argument("--limit", type=int, default=None, help="At most this many a round.")

    def handle(self, *args, loop, every, limit, **options):
        target = get_target()
        if target is None:
            waiting = Delivery.objects.filter(status__in=DUE).count()
            raise CommandError(
                f"No library system is configured (LIBRARY_SYSTEM_TARGET); {waiting} "
                "deliveries are kept until one is."
            )
        show_progress = sys.stdout.isatty() and options["verbosity"] > 0
        try:
            while True:
                self._round(target, limit, show_progress)
                if not loop:
                    break
                time.sleep(every)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def _round(self, target, limit, show_progress):
        def progress(outcomes):
            if show_progress:
                self.stdout.write(f"\rSending: {_summary(outcomes)}", ending="")
                self.stdout.flush()

        outcomes = deliveries_send_due(target=target, limit=limit, progress=progress)
        if show_progress and outcomes:
            self.stdout.write("")
        waiting = Delivery.objects.filter(status__in=DUE).count()
        failed = Delivery.objects.filter(status=Status.FAILED).count()
        line = (
            f"Deliveries to {target.name}: {_summary(outcomes)}; "
            f"{waiting} waiting, {failed} refused and waiting for staff."
        )
        self.stdout.write(self.style.SUCCESS(line) if not failed else self.style.WARNING(line))


def _summary(outcomes) -> str:
    return (
        f"{outcomes[Status.DELIVERED]} delivered, {outcomes[Status.RETRYING]} to retry, "
        f"{outcomes[Status.FAILED]} refused"
    )
