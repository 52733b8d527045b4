"""Library-system exports for the import tests: one row per fee, as a CSV file."""

import csv

from fees.importing import COLUMNS
from fees.models import EntryKind, JournalEntry


def row(number, fee, amount="5.00", **fields):
    values = {
        "user_number": f"U{number}", "card_number": f"C{number}", "first_name": "Erika",
        "last_name": "Muster", "email": f"p{number}@example.org", "patron_id": f"P{number}",
        "fee_id": f"F{fee}", "type": "overdue", "owner": "", "amount": amount,
        "currency": "EUR", "date": "2026-11-30", "description": "Overdue fine",
    }  # fmt: skip
    values.update(fields)
    return values


def write_csv(path, rows):
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def fees():
    return JournalEntry.objects.filter(kind=EntryKind.FEE)


def booked():
    """What the import wrote, independent of row ids and times."""
    return sorted(
        fees().values_list(
            "external_id", "patron__user_number", "patron__card_number",
            "patron__external_id", "amount_cents", "fee_type", "external_type", "description",
            "owner__code",
        )
    )  # fmt: skip
