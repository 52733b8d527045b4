"""What a move of an order, or a report of money, came to: one value callers map to text."""

from dataclasses import dataclass
from enum import StrEnum

from fees.models import JournalEntry
from payments.models import MoneyReport, PaymentEvent, PaymentOrder


class Outcome(StrEnum):
    BOOKED = "booked"  # money received and booked in the journal
    RECORDED = "recorded"  # money received and held for staff, not booked
    REVERSED = "reversed"  # a chargeback: the payment's reversal was booked
    MOVED = "moved"  # the status changed; no money moved
    REPEAT = "repeat"  # the same news or the same money again: nothing more done
    REFUSED = "refused"  # the status table does not allow this move: nothing done


@dataclass(frozen=True)
class TransitionResult:
    order: PaymentOrder | None
    outcome: Outcome
    event: PaymentEvent | None = None
    booked: JournalEntry | None = None
    money: MoneyReport | None = None

    @property
    def changed(self) -> bool:
        return self.outcome not in (Outcome.REPEAT, Outcome.REFUSED)


@dataclass(frozen=True)
class Availability:
    """Whether staff may do something now, and if not, why (shown on the desk)."""

    allowed: bool
    reason: str = ""
