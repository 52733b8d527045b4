import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fees.importing import import_fees


class Command(BaseCommand):
    help = (
        "Book a library system's export of all open fees (CSV with a header, or JSON lines): "
        "missing patrons are created, fees not here yet booked, changed amounts corrected. "
        "Running it again, or after it was stopped, changes nothing more."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        on_terminal = sys.stdout.isatty() and options["verbosity"] > 0

        def progress(summary):
            if on_terminal:
                self.stdout.write(
                    f"\r{summary.rows} rows, {summary.fees_booked} fees booked", ending=""
                )
                self.stdout.flush()

        summary = import_fees(file, progress=progress)
        if on_terminal:
            self.stdout.write("")
        for line, problem in summary.bad:
            self.stderr.write(f"line {line}: {problem}")
        style = self.style.WARNING if summary.bad else self.style.SUCCESS
        self.stdout.write(style(summary.line))
