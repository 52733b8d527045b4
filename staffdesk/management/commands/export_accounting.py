import datetime
import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fees.models import Owner
from staffdesk.accounting import (
    accounting_rows,
    accounting_sections,
    export_filename,
    finished_settlement,
    write_csv,
    write_xlsx,
    yesterday,
)


def _business_date(value: str) -> datetime.date:
    try:
        business_date = datetime.datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--date must be a date written YYYY-MM-DD, not {value!r}.") from None
    if business_date > timezone.localdate():
        raise CommandError(f"{business_date} is in the future: nothing is booked for it yet.")
    return business_date


class Command(BaseCommand):
    help = (
        "Export a business day's money for the accounts department (default: yesterday): "
        "bookings by kind, fee type, provider and method; what the settlement offset; totals."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", default=None, help="Business date, YYYY-MM-DD (default: yesterday)."
        )
        parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument(
            "--output", default=None, help="File to write (CSV goes to standard output without)."
        )
        parser.add_argument("--owner", default=None, help="Only this owner's (its code).")
        parser.add_argument(
            "--each-owner",
            default=None,
            metavar="DIRECTORY",
            help="One file per owner into DIRECTORY, named accounting-DATE-OWNER.csv (.xlsx).",
        )

    def handle(self, *args, date, file_format, output, owner, each_owner, **options):
        business_date = _business_date(date) if date else yesterday()
        if file_format == "xlsx" and not (output or each_owner):
            raise CommandError("--format xlsx needs --output PATH: a workbook is a binary file.")
        if owner is not None:
            owner = Owner.objects.filter(code=owner).first()
            if owner is None:
                raise CommandError("--owner names no owner: see the admin's fee owners.")
        if finished_settlement(business_date) is None:
            self.stderr.write(
                f"Warning: the settlement of {business_date} has not run; the export has the "
                "day's bookings but no offsets."
            )
        if each_owner:
            Owner.objects.default()
            for one in Owner.objects.all():
                name = export_filename(business_date, file_format, one)
                self._write(business_date, one, file_format, os.path.join(each_owner, name))
            return
        if not output:
            write_csv(accounting_rows(business_date, owner), self.stdout)
            return
        self._write(business_date, owner, file_format, output)

    def _write(self, business_date, owner, file_format, output):
        # Written beside and then renamed: a job collecting the file never finds half of it.
        partial = f"{output}.part"
        try:
            if file_format == "xlsx":
                write_xlsx(accounting_sections(business_date, owner), partial)
            else:
                with open(partial, "w", newline="", encoding="utf-8") as file:
                    write_csv(accounting_rows(business_date, owner), file)
            os.replace(partial, output)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise
        self.stdout.write(f"Accounting export of {business_date} written to {output}.")
