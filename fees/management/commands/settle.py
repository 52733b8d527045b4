import datetime
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fees.models import Settlement
from fees.settlement import SettlementError, settlement_run
from fees.settlement.check import settlement_check


class Command(BaseCommand):
    help = (
        "Daily settlement: offset unsettled payments, credit notes and waivers against open "
        "fees, for everything booked up to the business date (default: yesterday, the last "
        "complete business day)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            type=datetime.date.fromisoformat,
            default=None,
            help="Business date to settle, YYYY-MM-DD (default: yesterday).",
        )
        parser.add_argument("--batch", type=int, default=None, help="Patrons per transaction.")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Settle nothing: prove each settlement's totals equal the rows they sum "
            "(every settlement, or the one of --date).",
        )

    def handle(self, *args, date, batch, check, **options):
        if check:
            return self._check(date)
        business_date = date or timezone.localdate() - datetime.timedelta(days=1)
        show_progress = sys.stdout.isatty() and options["verbosity"] > 0

        def progress(done, total):
            if show_progress:
                self.stdout.write(f"\rSettling {business_date}: {done}/{total} patrons", ending="")
                self.stdout.flush()

        try:
            report = settlement_run(
                business_date=business_date, batch_patrons=batch, progress=progress
            )
        except SettlementError as error:
            raise CommandError(str(error)) from error
        if show_progress and report.did_work:
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(report.summary()) if report.did_work else report.summary()
        )

    def _check(self, date):
        settlements = Settlement.objects.order_by("business_date")
        if date:
            settlements = settlements.filter(business_date=date)
        wrong = 0
        for settlement in settlements:
            for problem in settlement_check(settlement):
                wrong += 1
                self.stderr.write(f"Settlement {settlement.business_date}: {problem}")
        if wrong:
            raise CommandError(f"{wrong} totals differ from their rows.")
        self.stdout.write(
            self.style.SUCCESS(f"{settlements.count()} settlements: every total equals its rows.")
        )
