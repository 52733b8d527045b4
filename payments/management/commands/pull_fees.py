import sys

from django.core.management.base import BaseCommand, CommandError

from payments.services.pulling import pull_fees


class Command(BaseCommand):
    help = (
        "Read patrons' fees from the library system and book what changed there: by default "
        "every linked patron with open fees or a payment in progress here. A run stopped "
        "part-way goes on from where it was at its next start."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--patron",
            action="append",
            metavar="USER_NUMBER",
            help="Only this patron (again for more).",
        )
        which.add_argument(
            "--all", action="store_true", help="Every patron the library system knows."
        )
        parser.add_argument(
            "--restart",
            action="store_true",
            help="Start from the first patron, not where a stopped run was.",
        )

    def handle(self, *args, patron, all, restart, **options):
        selection = "named" if patron else "all" if all else "open"
        on_terminal = sys.stdout.isatty() and options["verbosity"] > 0

        def progress(run, total):
            if on_terminal:
                done = min(run.read, total)
                bar = "#" * (30 * done // total if total else 30)
                self.stdout.write(f"\r[{bar:<30}] {done}/{total}", ending="")
                self.stdout.flush()

        try:
            summary = pull_fees(
                selection=selection, user_numbers=patron or (), restart=restart, progress=progress
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        if on_terminal:
            self.stdout.write("")
        style = self.style.WARNING if summary.run.failed else self.style.SUCCESS
        self.stdout.write(style(summary.line))
