"""What the portal needs from a payment provider, and what a provider tells it."""

from dataclasses import dataclass, field
from typing import Protocol

from payments.models import UNKNOWN_METHOD, PaymentOrder


class ProviderError(Exception):
    """The provider could not be reached or refused the request."""


class InvalidSignature(Exception):
    """A webhook whose signature, timestamp or body does not verify."""


@dataclass(frozen=True)
class ProviderUpdate:
    """One piece of news about a payment, in the portal's terms.

    `status` is an OrderStatus value; `amount_cents` what was received (for
    Paid and Underpaid). The order is found by `transaction_id` or, failing
    that, by `order_reference`.
    """

    status: str
    transaction_id: str = ""
    order_reference: str = ""
    event_id: str = ""
    amount_cents: int | None = None
    currency: str = ""
    payment_method: str = UNKNOWN_METHOD
    note: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Checkout:
    """A payment started at the provider: where to send the patron."""

    transaction_id: str
    redirect_url: str


class Provider(Protocol):
    name: str
    mode: str

    def start_checkout(
        self, order: PaymentOrder, *, return_url: str, cancel_url: str
    ) -> Checkout: ...

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> list[ProviderUpdate]:
        """Verify a webhook delivery and translate it; raise InvalidSignature if it is forged."""
        ...

    def fetch(self, order: PaymentOrder) -> ProviderUpdate | None:
        """Ask the provider for the order's current state (None: nothing known yet)."""
        ...

    def expire(self, order: PaymentOrder) -> None:
        """Stop the patron from finishing an open checkout, where the provider allows it."""
        ...

    def order_reference_for_payment(self, payment_id: str) -> str:
        """The order reference a payment was made for, as the provider keeps it ("" if
        none); raise ProviderError when the provider cannot be asked."""
        ...
