"""What a library system says a patron owes: the read side of the targets.

Each target that can read (`ReadingTarget`) turns its system's answer into one
`LibraryAccount`: the patron's own data and their open fees, each with what is still
outstanding of it there. An answer that cannot be read (not JSON, a field missing, a
negative or fractional amount, a currency other than the library's) raises
`MalformedAnswer`, and nothing is applied; a system that is down or slow raises
`TransientError` as for deliveries.

A library system also holds debts the portal itself wrote there: a chargeback re-creates
the fee it re-opens as a new line or fee (Koha, Alma), marked ``[epayment-N fee X]``.
`portal_marker` finds that mark, so that such a line counts towards fee X, which the
portal's ledger already holds, and is not booked as a new fee.
"""

import re
import time
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Protocol

from django.conf import settings

from payments.library_systems.base import Movement, TransientError


class MalformedAnswer(Exception):
    """The library system answered, but not something the portal can read."""


@dataclass(frozen=True)
class LibraryFee:
    fee_id: str  # its id in the library system
    outstanding_cents: int  # what the patron still owes of it there
    external_type: str  # the library system's fee type code
    owner_code: str  # who the fee belongs to there ("" when it does not say)
    description: str
    item: str = ""


@dataclass(frozen=True)
class PatronRecord:
    external_id: str  # the patron's id in the library system
    card_number: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclass(frozen=True)
class LibraryAccount:
    patron: PatronRecord
    fees: tuple[LibraryFee, ...]


class ReadingTarget(Protocol):
    name: str

    def read_account(self, external_id: str) -> LibraryAccount:
        """The patron's data and open fees. Raise TransientError or MalformedAnswer."""
        ...


MARKER = re.compile(r"\[epayment-\d+ (?:fee (?P<fee>[^\]\s]+)|no fee)\]")


class Budget:
    """The time left of one read, which may take several calls: the whole read ends within
    LIBRARY_SYSTEM_TIMEOUT_SECONDS, so that the account page does too."""

    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise TransientError("no time left for the rest of the read")
        return left


def portal_marker(text: str | None) -> tuple[bool, str]:
    """(written by the portal, the library fee it re-creates or "") for a line's note."""
    match = MARKER.search(text or "")
    if match is None:
        return False, ""
    return True, match.group("fee") or ""


class FeeTally:
    """What a library system says is outstanding of each of its fees, line by line: a line
    the portal wrote there (`portal_marker`) counts towards the fee it re-creates and says
    nothing else of it; any other line is a fee of its own, with its type and owner."""

    def __init__(self):
        self._fees: dict[str, dict] = {}

    def add(self, fee_id: str, cents: int, note: str | None, **details) -> None:
        ours, recreates = portal_marker(note)
        if ours and not recreates:
            return  # the portal's money for no fee: not a debt there
        fee = self._fees.setdefault(recreates or fee_id, {"cents": 0})
        fee["cents"] += cents
        if not ours:
            fee.update(details)

    def fees(self) -> tuple[LibraryFee, ...]:
        return tuple(
            LibraryFee(fee_id=fee_id, outstanding_cents=fee.pop("cents"), **{
                "external_type": "", "owner_code": "", "description": "", **fee,
            })
            for fee_id, fee in self._fees.items()
        )  # fmt: skip


def cents_of(value, where: str) -> int:
    """A decimal amount of the answer (a JSON number or a string) in cents: whole cents,
    not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedAnswer(f"{where}: {value!r} is not an amount")
    try:
        amount = Decimal(str(value)).scaleb(2)
    except InvalidOperation as error:
        raise MalformedAnswer(f"{where}: {value!r} is not an amount") from error
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise MalformedAnswer(f"{where}: {value!r} is not a whole number of cents")
    if amount < 0:
        raise MalformedAnswer(f"{where}: {value!r} is negative")
    return int(amount)


def text_of(record: dict, name: str, where: str, *, required: bool = False) -> str:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise MalformedAnswer(f"{where}: {name} is missing")
        return ""
    if not isinstance(value, str | int):
        raise MalformedAnswer(f"{where}: {name} is {value!r}, not a text")
    return str(value)


def check_currency(currency: str | None, where: str) -> None:
    """A currency the answer names must be the library's."""
    if currency and currency.upper() != settings.LIBRARY_CURRENCY:
        raise MalformedAnswer(
            f"{where}: currency {currency!r}, not the library's {settings.LIBRARY_CURRENCY}"
        )


def read_json(response):
    """The answer's JSON; an answer that is not JSON cannot be read."""
    try:
        return response.json()
    except ValueError as error:
        raise MalformedAnswer(
            f"{response.request.method} {response.url}: answer is not JSON: {response.text[:200]!r}"
        ) from error


def record_of(answer, where: str) -> dict:
    if not isinstance(answer, dict):
        raise MalformedAnswer(f"{where}: {str(answer)[:100]!r} is not an object")
    return answer


def settled_meanwhile(target: ReadingTarget, movement: Movement) -> tuple[Movement, int]:
    """The payment as it can still be delivered: a fee the library system says is owed
    less than the payment's share of it (paid at its desk meanwhile, say) takes only what
    is still owed, and the rest of the share goes as money for no fee (the patron's credit,
    where the system keeps credit). Also the cents so moved (0: nothing was settled)."""
    account = target.read_account(movement.patron_external_id)
    owed = {fee.fee_id: fee.outstanding_cents for fee in account.fees}
    shares, moved = [], 0
    for share in movement.shares:
        if not share.fee_id:
            shares.append(share)
            continue
        still = owed.get(share.fee_id, 0)
        take = min(share.amount_cents, still)
        owed[share.fee_id] = still - take
        moved += share.amount_cents - take
        if take:
            shares.append(replace(share, amount_cents=take))
    if not moved:
        return movement, 0
    adjusted = replace(
        movement, shares=tuple(shares), unassigned_cents=movement.unassigned_cents + moved
    )
    return adjusted, moved
