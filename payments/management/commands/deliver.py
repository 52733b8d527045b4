import sys

from django.core.management.base import BaseCommand, CommandError

from payments.library_systems.worker import (
    configured_targets,
    deliver_rounds,
    summary,
    waiting_count,
)


class Command(BaseCommand):
    help = (
        "Send payments, reversals and refunds to the library system (LIBRARY_SYSTEM_TARGET), "
        "and to each library system an owner names. Safe to run from cron or in a loop on "
        "several machines at once."
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
        targets = configured_targets()
        if not targets:
            raise CommandError(
                f"No library system is configured (LIBRARY_SYSTEM_TARGET); {waiting_count()} "
                "deliveries are kept until one is."
            )
        show_progress = sys.stdout.isatty() and options["verbosity"] > 0
        # The line of a round in progress is rewritten in place, so it ends before the report.
        shown = []

        def progress(outcomes):
            if show_progress:
                self.stdout.write(f"\rSending: {summary(outcomes)}", ending="")
                self.stdout.flush()
                shown.append(True)

        def report(round_):
            if shown:
                self.stdout.write("")
                shown.clear()
            style = self.style.WARNING if round_.failed else self.style.SUCCESS
            self.stdout.write(style(round_.line))

        try:
            deliver_rounds(
                targets=targets, loop=loop, every=every, limit=limit,
                progress=progress, report=report,
            )  # fmt: skip
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
