"""The movements the adapter tests send, the same amounts for every library system."""

import dataclasses
import datetime

from payments.library_systems.base import FeeShare, Movement


def payment(patron: str, fees: tuple[tuple[str, str], tuple[str, str]], **changes) -> Movement:
    """A 25.10 EUR payment by ``patron``: 19.99 for the first of the library system's two
    ``(fee id, fee type)``, 0.10 for the second, 5.01 for no fee."""
    (first_id, first_type), (second_id, second_type) = fees
    movement = Movement(
        key="mv-7f3a",
        kind="payment",
        entry_id=900,
        booked_at=datetime.datetime(2025, 3, 4, 10, 0, tzinfo=datetime.UTC),
        amount_cents=2510,
        currency="EUR",
        method="online: card",
        reference="EP-2025-0001",
        patron_user_number="U-1",
        patron_external_id=patron,
        shares=(
            FeeShare(entry_id=11, fee_id=first_id, fee_type=first_type, amount_cents=1999),
            FeeShare(entry_id=12, fee_id=second_id, fee_type=second_type, amount_cents=10),
        ),
        unassigned_cents=501,
    )
    return dataclasses.replace(movement, **changes)


def credit_refund(payment: Movement) -> Movement:
    """The portal's usual refund: 7.00 of the patron's credit paid back, for no fee."""
    return dataclasses.replace(
        payment, key="mv-ref", kind="refund", amount_cents=700, shares=(), unassigned_cents=700
    )


def fee_reversal(payment: Movement) -> Movement:
    """The chargeback of the payment's two fee shares: 20.09, none of it for no fee."""
    return dataclasses.replace(
        payment, key="mv-rev", kind="reversal", amount_cents=2009, unassigned_cents=0
    )
