"""`manage.py import_fees FILE`: a library system's export of all open fees, booked at the
speed of the database.

The file is CSV (with a header) or JSON lines, one fee per row: the patron (user number,
card number, names, e-mail, the library system's patron id) and the fee (its id there,
type, owner, amount, currency, date, description). Rows are read and checked in batches
(`rows`); each batch is one transaction, which creates the patrons not here yet and books
the fees not here yet: on PostgreSQL set-based from a staging table (`postgres`),
elsewhere through the ORM (`orm`), by the same rules (`booking`). A fee already here is
left as it is when its amount is the same, and corrected with the sync's rules when it is
not. So a second run, or a run after one killed part-way, ends in the state one whole run
leaves.

A row that cannot be taken (a field missing or too long, an amount that is not one,
another currency, an unknown owner, a fee id twice, a card number of another patron) is
reported with its line number, and nothing of it is written; the other rows are.
"""

from fees.importing.booking import JOURNAL_COLUMNS, ImportSummary
from fees.importing.rows import COLUMNS
from fees.importing.run import BATCH, import_fees

__all__ = ["BATCH", "COLUMNS", "JOURNAL_COLUMNS", "ImportSummary", "import_fees"]
