"""What both ways of writing share: the summary, the journal's columns for a new fee,
the rules for a patron not here yet, and what becomes of a fee that is here already."""

import time
from dataclasses import dataclass, field

from fees.corrections import fee_correct
from fees.models import JournalEntry

JOURNAL_COLUMNS = (
    "patron_id", "kind", "amount_cents", "currency", "booked_at", "business_date",
    "booked_by_id", "fee_type", "description", "item", "method", "reference", "note",
    "source_system", "external_id", "external_type", "booking_key", "owner_id", "target_id",
    "settled_in_id", "cleared_in_id",
)  # fmt: skip
USER_COLUMNS = ("password", "last_login", "is_superuser", "username", "first_name",
                "last_name", "email", "is_staff", "is_active", "date_joined")  # fmt: skip
PATRON_COLUMNS = ("user_id", "user_number", "card_number", "first_name", "last_name",
                  "email", "source_system", "external_id", "created_at")  # fmt: skip
# The fees an import books and finds are its own system's: the export names none.
SOURCE_SYSTEM = ""
NOTE = "import_fees"


@dataclass
class ImportSummary:
    rows: int = 0
    patrons_created: int = 0
    fees_booked: int = 0
    fees_corrected: int = 0
    fees_unchanged: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0
    started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def line(self) -> str:
        return (
            f"{self.rows} rows: {self.fees_booked} fees booked, {self.fees_corrected} corrected, "
            f"{self.fees_unchanged} already here; {self.patrons_created} patrons created; "
            f"{len(self.bad)} bad rows ({self.seconds:.1f} s)."
        )


def username_for(user_number: str) -> str:
    """The Django user a patron created by the import signs in as."""
    return f"patron-{user_number}"


# Why a patron not here yet is not created (and none of its rows written). The first row
# of a user number gives the patron; it is refused when its card number or library-system
# id is another patron's here or an earlier new patron's in the same batch, or when its
# username is a user's here that is not that patron.
CARD_TAKEN, PATRON_ID_TAKEN, USERNAME_TAKEN = "card number", "patron id", "username"


def refusal(user_number: str, reason: str) -> str:
    if reason == USERNAME_TAKEN:
        return (
            f"user {username_for(user_number)} exists here without a patron {user_number}: "
            "link or rename it in the admin first"
        )
    return f"{reason} of {user_number} is another patron's here"


def fee_of_another_patron(fee_id: str) -> str:
    return f"fee id {fee_id} belongs to another patron here"


def take_known(
    summary: ImportSummary, *, line: int, fee_id: str, pk: int, same_patron: bool,
    amount_here: int, amount_cents: int,
) -> None:  # fmt: skip
    """A fee of the export that is here already: left as it is when the amount is the
    same, corrected with the sync's rules when not, a bad row when it is another
    patron's."""
    if not same_patron:
        summary.bad.append((line, fee_of_another_patron(fee_id)))
    elif amount_here == amount_cents:
        summary.fees_unchanged += 1
    elif fee_correct(
        fee=JournalEntry.objects.get(pk=pk), amount_cents=amount_cents, note=NOTE
    ).entries:
        summary.fees_corrected += 1
    else:  # corrected to this amount before
        summary.fees_unchanged += 1
