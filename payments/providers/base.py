"""What the portal needs from a payment provider, and what a provider tells it."""

from dataclasses import dataclass
from typing import Protocol

from payments.models import UNKNOWN_METHOD, PaymentOrder, Refund


class ProviderError(Exception):
    """The provider could not be reached or refused the request."""


class InvalidSignature(Exception):
    """A webhook whose signature, timestamp or body does not verify."""


@dataclass(frozen=True)
class ProviderUpdate:
    """One piece of news about a payment, in the portal's terms.

    `status` is an OrderStatus value; `amount_cents` what was received (for
    Paid and Underpaid) or what a chargeback takes back (Cancelation; all of the
    payment when None). The order is found by `transaction_id` or, failing
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
    # The provider's id for the money (Stripe's PaymentIntent): what refunds and
    # chargebacks name.
    payment_id: str = ""


@dataclass(frozen=True)
class RefundUpdate:
    """News about a refund: `status` a RefundStatus value. The refund is found by the
    provider's id for it or, failing that, by `refund_reference` (our reference, which
    the provider keeps with it)."""

    status: str
    provider_refund_id: str = ""
    refund_reference: str = ""
    payment_id: str = ""
    amount_cents: int | None = None
    event_id: str = ""
    failure: str = ""


@dataclass(frozen=True)
class RefundsChanged:
    """The provider says a payment's refunds changed without saying which: ask it."""

    payment_id: str
    event_id: str = ""


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

    # Whether money can go back through it; if not, the desk refunds at the counter only.
    supports_refunds: bool
    # Whether the patron coming back through the cancel URL has given the payment up.
    # Where the provider keeps the checkout payable for hours and never reports the cancel,
    # the order would otherwise hold the fees long after the patron left.
    cancel_gives_up: bool

    def parse_webhook(
        self, body: bytes, headers: dict[str, str]
    ) -> list[ProviderUpdate | RefundUpdate | RefundsChanged]:
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

    def refund_payment_id(self, order: PaymentOrder) -> str:
        """The provider's id of the order's money that a refund goes back to ("" if unknown)."""
        ...

    def refund(self, refund: Refund) -> RefundUpdate:
        """Ask the provider to pay the refund back; its answer (a refused refund is FAILED).
        Raise ProviderError when it cannot be reached: the refund may or may not exist."""
        ...

    def refunds_of_payment(self, payment_id: str) -> list[RefundUpdate]:
        """Every refund the provider holds for a payment, as it stands now."""
        ...
