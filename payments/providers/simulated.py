"""The simulated provider: a hosted payment page served by the portal itself.

For tests and demos only; it refuses to load in live mode. The tester picks
the outcome on its page, and it reports back exactly as a real provider
does: with callbacks signed by HMAC-SHA256 over "timestamp.body", verified by
the same webhook code path, and by answering `fetch` from its own records.
"""

import datetime
import hashlib
import hmac
import json
import secrets
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from payments.models import Mode, OrderStatus, PaymentOrder, Refund, RefundStatus, SimulatedCheckout
from payments.providers.base import Checkout, InvalidSignature, ProviderUpdate, RefundUpdate

SIGNATURE_HEADER = "X-Simulated-Signature"
Outcome = SimulatedCheckout.Outcome

# What the tester can do on the hosted page, and the status it reports.
ACTIONS = {
    "pay": (Outcome.PAID, OrderStatus.PAID),
    "pay_less": (Outcome.UNDERPAID, OrderStatus.UNDERPAID),
    "fail": (Outcome.FAILED, OrderStatus.FAILED),
    "abandon": (Outcome.ABANDONED, None),
    "chargeback": (Outcome.CHARGED_BACK, OrderStatus.CHARGEBACK),
}


class SimulatedProvider:
    name = "simulated"
    mode = Mode.TEST
    supports_refunds = True
    # Its abandoned checkout stays open until it expires, as a Stripe session does.
    cancel_gives_up = False

    def __init__(
        self, *, secret: str, tolerance_seconds: int, expiry_minutes: int, merchant: str = ""
    ):
        self.merchant = merchant
        self.webhook_secret = secret.encode()
        self.tolerance = tolerance_seconds
        self.expiry = datetime.timedelta(minutes=expiry_minutes)

    @classmethod
    def from_settings(cls, merchant: str = ""):
        """The simulated merchant account `merchant` (an owner's code; "" the portal's):
        each has its own webhook secret and knows only its own checkouts."""
        if settings.PAYMENT_MODE == Mode.LIVE:
            raise ImproperlyConfigured("The simulated provider cannot be used in live mode.")
        secret = f"webhook secret {merchant}" if merchant else "webhook secret"
        return cls(
            merchant=merchant,
            secret=salted_hmac("payments.simulated", secret).hexdigest(),
            tolerance_seconds=settings.WEBHOOK_TOLERANCE_SECONDS,
            expiry_minutes=settings.CHECKOUT_EXPIRY_MINUTES,
        )

    # --- the provider interface ---------------------------------------------------

    def start_checkout(self, order: PaymentOrder, *, return_url: str, cancel_url: str) -> Checkout:
        checkout = SimulatedCheckout.objects.create(
            transaction_id=f"sim_{secrets.token_urlsafe(16)}",
            merchant=self.merchant,
            order_reference=order.reference,
            amount_cents=order.amount_cents,
            currency=order.currency,
            return_url=return_url,
            cancel_url=cancel_url,
        )
        url = reverse("payments:simulated_checkout", args=[checkout.transaction_id])
        return Checkout(transaction_id=checkout.transaction_id, redirect_url=url)

    def parse_webhook(self, body: bytes, headers) -> list[ProviderUpdate]:
        self._verify(body, headers.get(SIGNATURE_HEADER, ""))
        try:
            message = json.loads(body)
            return [ProviderUpdate(**message)]
        except (ValueError, TypeError) as error:
            raise InvalidSignature(f"unreadable body: {error}") from error

    def checkouts(self):
        """The checkouts this merchant account took: it knows no other's."""
        return SimulatedCheckout.objects.filter(merchant=self.merchant)

    def fetch(self, order: PaymentOrder) -> ProviderUpdate | None:
        checkout = (
            self.checkouts().filter(transaction_id=order.provider_transaction_id or "-").first()
        )
        if checkout is None:
            return None
        if checkout.outcome in (Outcome.OPEN, Outcome.ABANDONED):
            if timezone.now() - checkout.created_at < self.expiry:
                return None
            checkout.outcome = Outcome.EXPIRED
            checkout.save(update_fields=["outcome"])
        return self._update(checkout, _status_of(checkout), event_id="")

    def expire(self, order: PaymentOrder) -> None:
        self.checkouts().filter(
            transaction_id=order.provider_transaction_id or "-",
            outcome__in=[Outcome.OPEN, Outcome.ABANDONED],
        ).update(outcome=Outcome.EXPIRED)

    def order_reference_for_payment(self, payment_id: str) -> str:
        # Its callbacks always name the checkout; it has no payment ids of its own.
        return ""

    def refund_payment_id(self, order: PaymentOrder) -> str:
        return order.provider_transaction_id or ""

    def refund(self, refund: Refund) -> RefundUpdate:
        """Pays back at once, as long as the checkout's money not refunded yet covers it."""
        with transaction.atomic():
            checkout = (
                self.checkouts()
                .select_for_update()
                .filter(transaction_id=refund.order.provider_transaction_id or "-")
                .first()
            )
            if checkout is None:
                return RefundUpdate(
                    status=RefundStatus.FAILED,
                    refund_reference=refund.reference,
                    failure="No such payment.",
                )
            earlier = next(
                (r for r in checkout.refunds if r["reference"] == refund.reference), None
            )
            if earlier is None:
                refunded = sum(
                    r["amount_cents"]
                    for r in checkout.refunds
                    if r["status"] == RefundStatus.SUCCEEDED
                )
                fits = refund.amount_cents <= checkout.paid_cents - refunded
                earlier = {
                    "id": f"simre_{secrets.token_urlsafe(12)}",
                    "reference": refund.reference,
                    "amount_cents": refund.amount_cents,
                    "status": RefundStatus.SUCCEEDED if fits else RefundStatus.FAILED,
                }
                checkout.refunds = [*checkout.refunds, earlier]
                checkout.save(update_fields=["refunds"])
        return _refund_update(checkout, earlier)

    def refunds_of_payment(self, payment_id: str) -> list[RefundUpdate]:
        checkout = self.checkouts().filter(transaction_id=payment_id or "-").first()
        return [_refund_update(checkout, r) for r in checkout.refunds] if checkout else []

    # --- signing ----------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> str:
        timestamp = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(self.webhook_secret, f"{timestamp}.".encode() + body, hashlib.sha256)
        return f"t={timestamp},v1={digest.hexdigest()}"

    def _verify(self, body: bytes, header: str) -> None:
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        try:
            timestamp = int(parts["t"])
        except (KeyError, ValueError) as error:
            raise InvalidSignature("missing or malformed signature header") from error
        if abs(time.time() - timestamp) > self.tolerance:
            raise InvalidSignature("timestamp outside the tolerance")
        expected = self.sign(body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise InvalidSignature("signature does not match")

    # --- what the tester does on the hosted page ------------------------------------

    def act(self, checkout: SimulatedCheckout, action: str) -> list[bytes]:
        """Record the tester's choice; return the callback bodies it causes."""
        outcome, status = ACTIONS[action]
        if action == "chargeback" and checkout.outcome not in (Outcome.PAID, Outcome.UNDERPAID):
            raise ValueError("Only a paid checkout can be charged back.")
        if action != "chargeback" and checkout.outcome not in (Outcome.OPEN, Outcome.ABANDONED):
            raise ValueError("This checkout is finished.")
        checkout.outcome = outcome
        if action == "pay":
            checkout.paid_cents, checkout.method = checkout.amount_cents, "card"
        elif action == "pay_less":
            checkout.paid_cents, checkout.method = max(1, checkout.amount_cents // 2), "card"
        checkout.save()
        if status is None:
            return []
        return [_body(self._update(checkout, status, event_id=f"simevt_{secrets.token_hex(8)}"))]

    def _update(self, checkout: SimulatedCheckout, status: str, event_id: str) -> ProviderUpdate:
        paid = status in (OrderStatus.PAID, OrderStatus.UNDERPAID)
        return ProviderUpdate(
            status=status,
            transaction_id=checkout.transaction_id,
            order_reference=checkout.order_reference,
            event_id=event_id,
            amount_cents=checkout.paid_cents if paid else None,
            currency=checkout.currency if paid else "",
            payment_method=checkout.method or "Unknown",
        )


def _refund_update(checkout: SimulatedCheckout, refund: dict) -> RefundUpdate:
    failed = refund["status"] == RefundStatus.FAILED
    return RefundUpdate(
        status=refund["status"],
        provider_refund_id=refund["id"],
        refund_reference=refund["reference"],
        payment_id=checkout.transaction_id,
        amount_cents=refund["amount_cents"],
        failure="The amount exceeds what is left of the payment." if failed else "",
    )


def _status_of(checkout: SimulatedCheckout) -> str:
    return {
        Outcome.PAID: OrderStatus.PAID,
        Outcome.UNDERPAID: OrderStatus.UNDERPAID,
        Outcome.FAILED: OrderStatus.FAILED,
        Outcome.EXPIRED: OrderStatus.FAILED,
        Outcome.CHARGED_BACK: OrderStatus.CHARGEBACK,
    }[checkout.outcome]


def _body(update: ProviderUpdate) -> bytes:
    fields = {
        "status": update.status,
        "transaction_id": update.transaction_id,
        "order_reference": update.order_reference,
        "event_id": update.event_id,
        "amount_cents": update.amount_cents,
        "currency": update.currency,
        "payment_method": update.payment_method,
    }
    return json.dumps(fields, sort_keys=True).encode()
