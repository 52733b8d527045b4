"""The patron's open fees as the account page shows them: one line per fee.

The journal can hold several open debits of one fee: the fee, its increases, and the
reversals that re-open it after a chargeback (`fees.selectors.FeeGroup`). The patron owes
the fee, not the debits, so each fee is one line, with what is still to pay of it and one
state that says why it can or cannot be paid now.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from fees.models import EntryKind, JournalEntry, Owner
from payments import rules


class LineState(StrEnum):
    """Why a fee can or cannot be paid online now; the first that holds, in this order."""

    DESK = "desk"  # its type is paid at the library desk
    IN_PROGRESS = "in_progress"  # an open payment holds it
    BEING_CHECKED = "being_checked"  # money for it arrived and waits for staff
    OWED_AGAIN = "owed_again"  # a payment of it was charged back
    PAID = "paid"  # nothing left to pay; the settlement offsets it
    PARTLY_PAID = "partly_paid"
    OPEN = "open"


@dataclass
class FeeLine:
    fee: JournalEntry  # what the line names: the fee (or a debit that is part of no fee)
    debits: list[JournalEntry]  # its open debits, in booking order
    payable_online: bool = True
    open_order: object = None  # the open PaymentOrder holding it
    reserved: bool = False
    money_awaiting: bool = False
    paid_by: list[JournalEntry] = field(default_factory=list)  # unsettled payments of it

    @property
    def ids(self) -> set[int]:
        """What a selection may name to mean this fee: the fee or any of its debits."""
        return {self.fee.pk, *(debit.pk for debit in self.debits)}

    @property
    def unpaid_cents(self) -> int:
        return sum(debit.unpaid_cents for debit in self.debits)

    @property
    def open_cents(self) -> int:
        """What the settlement has not offset yet, paid or not."""
        return sum(debit.open_cents for debit in self.debits)

    @property
    def charged_back(self) -> list[JournalEntry]:
        """The reversals that re-open this fee (their `target` is the payment taken back)."""
        if self.fee.kind != EntryKind.FEE:
            return []
        return [debit for debit in self.debits if debit.kind == EntryKind.REVERSAL]

    @property
    def taken_back_from(self) -> str:
        """The references of the payments charged back, as the patron knows them."""
        return _references(reversal.target for reversal in self.charged_back)

    @property
    def paid_with(self) -> str:
        return _references(self.paid_by)

    @property
    def selectable(self) -> bool:
        return self.state in (LineState.OWED_AGAIN, LineState.PARTLY_PAID, LineState.OPEN)

    @property
    def state(self) -> LineState:
        if not self.payable_online:
            return LineState.DESK
        if self.reserved:
            return LineState.IN_PROGRESS
        if self.money_awaiting:
            return LineState.BEING_CHECKED
        if self.unpaid_cents == 0:
            return LineState.PAID
        if self.charged_back:
            return LineState.OWED_AGAIN
        if self.unpaid_cents < self.open_cents:
            return LineState.PARTLY_PAID
        return LineState.OPEN


@dataclass
class OwnerLines:
    """One owner's lines on the account: what one payment (to that owner's merchant) can
    pay. `balance_room_cents` is the patron's: the balance less open orders."""

    owner: Owner
    lines: list[FeeLine]
    balance_room_cents: int
    selected_cents: int = 0  # what the ticked lines charge (AccountOverview.select)

    @property
    def selectable_lines(self) -> list[FeeLine]:
        return [line for line in self.lines if line.selectable]

    @property
    def unpaid_cents(self) -> int:
        return sum(line.unpaid_cents for line in self.lines)

    def unpaid_of(self, state: LineState) -> int:
        return sum(line.unpaid_cents for line in self.lines if line.state == state)

    @property
    def minimum_cents(self) -> int:
        return self.owner.minimum_cents

    @property
    def maximum_cents(self) -> int:
        return self.owner.maximum_cents

    @property
    def below_minimum(self) -> bool:
        """Even all that can be selected comes to less than one online payment's minimum."""
        return sum(line.unpaid_cents for line in self.selectable_lines) < self.minimum_cents

    def below_minimum_text(self) -> str:
        return rules.below_minimum_text(self.owner)

    @property
    def room_cents(self) -> int:
        """What one payment may take now: the balance room, within the owner's maximum."""
        if self.maximum_cents:
            return min(self.balance_room_cents, self.maximum_cents)
        return self.balance_room_cents

    @property
    def payable_now_cents(self) -> int:
        """What the patron can select and pay online now, in one payment."""
        largest = largest_total_within(
            (line.unpaid_cents for line in self.selectable_lines), self.room_cents
        )
        return largest if largest >= max(1, self.minimum_cents) else 0

    @property
    def no_selection_fits(self) -> bool:
        """There are fees to select, enough of them, yet no selection can be paid now."""
        return bool(self.selectable_lines) and not self.below_minimum and not self.payable_now_cents

    def selected_lines(self, fee_ids) -> list[FeeLine]:
        fee_ids = set(fee_ids)
        return [line for line in self.selectable_lines if line.ids & fee_ids]


def fee_lines(debits: Iterable[JournalEntry], fees: dict[int, JournalEntry]) -> list[FeeLine]:
    """One line per fee for these open debits (rows of `fees.selectors.fees_unpaid`), each
    named by its fee in `fees` (by `fee_group_id`, or the debit itself), oldest fee first."""
    lines: dict[int, FeeLine] = {}
    for debit in debits:
        fee = fees.get(debit.fee_group_id, debit)
        lines.setdefault(fee.pk, FeeLine(fee=fee, debits=[])).debits.append(debit)
    return sorted(lines.values(), key=lambda line: (line.fee.booked_at, line.fee.pk))


def largest_total_within(amounts: Iterable[int], room: int) -> int:
    """The largest sum of some of `amounts` (each taken whole, or not at all) that is at
    most `room`: what a selection of fees can pay at most."""
    amounts = [amount for amount in amounts if 0 < amount <= room]
    if sum(amounts) <= room:
        return sum(amounts)
    # Bit n of `reachable` is set when some of the amounts add up to n.
    within = (1 << (room + 1)) - 1
    reachable = 1
    for amount in amounts:
        reachable = (reachable | reachable << amount) & within
    return reachable.bit_length() - 1


def _references(payments: Iterable[JournalEntry | None]) -> str:
    references = {payment.reference: None for payment in payments if payment and payment.reference}
    return ", ".join(references)
