"""Stripe Checkout: a hosted payment page; card data never touches the portal.

Every call to Stripe goes through the small methods here, so tests fake
Stripe at the HTTP layer beneath stripe-python and this code runs for real.
"""

import logging
import time

import stripe
from django.conf import settings

from fees.amounts import is_whole_cents
from fees.models import service_fee_kind
from payments.models import UNKNOWN_METHOD, Mode, OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.providers.base import (
    Checkout,
    InvalidSignature,
    ProviderError,
    ProviderUpdate,
    RefundsChanged,
    RefundUpdate,
)

logger = logging.getLogger(__name__)


class StripeProvider:
    name = "stripe"
    supports_refunds = True
    # The Checkout Session stays open (the patron may go back to it) until it expires.
    cancel_gives_up = False

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        mode: str,
        api_base: str = "",
        timeout_seconds: float = 20,
        expiry_minutes: int = 30,
        tolerance_seconds: int = 300,
    ):
        self.mode = mode
        self.webhook_secret = webhook_secret
        self.expiry_seconds = max(30, expiry_minutes) * 60  # Stripe refuses less than 30 minutes
        self.tolerance = tolerance_seconds
        self.client = stripe.StripeClient(
            secret_key,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=1,
        )

    @classmethod
    def from_settings(cls, *, secret_key: str = "", webhook_secret: str = ""):
        return cls(
            secret_key=secret_key or settings.STRIPE_SECRET_KEY,
            webhook_secret=webhook_secret or settings.STRIPE_WEBHOOK_SECRET,
            mode=Mode.LIVE if settings.PAYMENT_MODE == Mode.LIVE else Mode.TEST,
            api_base=settings.STRIPE_API_BASE,
            timeout_seconds=settings.STRIPE_TIMEOUT_SECONDS,
            expiry_minutes=settings.CHECKOUT_EXPIRY_MINUTES,
            tolerance_seconds=settings.WEBHOOK_TOLERANCE_SECONDS,
        )

    def start_checkout(self, order: PaymentOrder, *, return_url: str, cancel_url: str) -> Checkout:
        payee = order.payee.name
        line_items = [_line_item(order, order.fees_cents, f"{payee}: {order.reference}")]
        if order.service_fee_cents:
            service_fee = f"{payee}: {service_fee_kind().name}"
            line_items.append(_line_item(order, order.service_fee_cents, service_fee))
        params = {
            "mode": "payment",
            "client_reference_id": order.reference,
            "metadata": {"order_reference": order.reference},
            "payment_intent_data": {
                "description": f"{payee} {order.reference}",
                "metadata": {"order_reference": order.reference},
            },
            "line_items": line_items,
            "success_url": f"{return_url}?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": cancel_url,
            "expires_at": int(time.time()) + self.expiry_seconds,
        }
        if order.patron.email:
            params["customer_email"] = order.patron.email
        try:
            session = self.client.v1.checkout.sessions.create(
                params, {"idempotency_key": f"epayment-order-{order.reference}"}
            )
        except stripe.StripeError as error:
            raise ProviderError(error.user_message or str(error)) from error
        return Checkout(transaction_id=session.id, redirect_url=session.url)

    def parse_webhook(
        self, body: bytes, headers
    ) -> list[ProviderUpdate | RefundUpdate | RefundsChanged]:
        header = headers.get("Stripe-Signature", "")
        try:
            event = stripe.Webhook.construct_event(
                body, header, self.webhook_secret, tolerance=self.tolerance
            )
        except (ValueError, stripe.SignatureVerificationError) as error:
            raise InvalidSignature(str(error)) from error
        # stripe-python only refuses old timestamps; a signature from the future is as suspect.
        timestamp = int(dict(item.split("=", 1) for item in header.split(",") if "=" in item)["t"])
        if timestamp > time.time() + self.tolerance:
            raise InvalidSignature("timestamp in the future")
        handler = EVENT_HANDLERS.get(event.type)
        if handler is None:
            return []
        update = handler(event.data.object.to_dict(), event.id)
        return [update] if update else []

    def fetch(self, order: PaymentOrder) -> ProviderUpdate | None:
        if not order.provider_transaction_id:
            return None
        try:
            session = self.client.v1.checkout.sessions.retrieve(
                order.provider_transaction_id, {"expand": ["payment_intent.payment_method"]}
            )
        except stripe.StripeError as error:
            raise ProviderError(error.user_message or str(error)) from error
        session = session.to_dict()
        if session["status"] == "expired":
            return _session_update(session, "", OrderStatus.FAILED)
        if session["status"] == "complete" and session["payment_status"] == "paid":
            return _session_update(session, "", OrderStatus.PAID)
        return None

    def expire(self, order: PaymentOrder) -> None:
        if not order.provider_transaction_id:
            return
        try:
            self.client.v1.checkout.sessions.expire(order.provider_transaction_id)
        except stripe.StripeError as error:
            # Already complete or expired: the webhook tells the rest.
            logger.info("Could not expire %s: %s", order.provider_transaction_id, error)

    def order_reference_for_payment(self, payment_id: str) -> str:
        # Checkout copies payment_intent_data.metadata onto the PaymentIntent.
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_id)
        except stripe.InvalidRequestError as error:
            logger.info("Stripe knows no payment %s: %s", payment_id, error)
            return ""
        except stripe.StripeError as error:
            raise ProviderError(error.user_message or str(error)) from error
        return (intent.to_dict().get("metadata") or {}).get("order_reference", "")

    def refund_payment_id(self, order: PaymentOrder) -> str:
        return order.provider_payment_id or ""

    def refund(self, refund: Refund) -> RefundUpdate:
        params = {
            "payment_intent": refund.order.provider_payment_id,
            "amount": refund.amount_cents,
            "reason": "requested_by_customer",
            "metadata": {
                "refund_reference": refund.reference,
                "order_reference": refund.order.reference,
            },
        }
        try:
            # One key per refund: asking again after a timeout can never refund twice.
            answer = self.client.v1.refunds.create(
                params, {"idempotency_key": f"epayment-refund-{refund.reference}"}
            )
        except stripe.InvalidRequestError as error:  # refused: more than is left, disputed, ...
            return RefundUpdate(
                status=RefundStatus.FAILED,
                refund_reference=refund.reference,
                failure=error.user_message or str(error),
            )
        except stripe.StripeError as error:
            raise ProviderError(error.user_message or str(error)) from error
        return _refund_update(answer.to_dict(), "")

    def refunds_of_payment(self, payment_id: str) -> list[RefundUpdate]:
        try:
            answer = self.client.v1.refunds.list({"payment_intent": payment_id, "limit": 100})
        except stripe.StripeError as error:
            raise ProviderError(error.user_message or str(error)) from error
        return [_refund_update(refund.to_dict(), "") for refund in answer.data]


# Stripe's refund statuses; "pending" and "requires_action" are still on their way.
REFUND_STATUSES = {
    "pending": RefundStatus.REQUESTED,
    "requires_action": RefundStatus.REQUESTED,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


def _refund_update(refund, event_id: str) -> RefundUpdate:
    intent = refund.get("payment_intent")
    return RefundUpdate(
        status=REFUND_STATUSES.get(refund.get("status"), RefundStatus.REQUESTED),
        provider_refund_id=refund["id"],
        refund_reference=(refund.get("metadata") or {}).get("refund_reference", ""),
        payment_id=intent if isinstance(intent, str) else (intent or {}).get("id", ""),
        amount_cents=refund.get("amount"),
        event_id=event_id,
        failure=refund.get("failure_reason") or "",
    )


def _charge_refunded(charge, event_id):
    # The charge names no refund (its list is not sent any more): the payment's are listed.
    intent = charge.get("payment_intent")
    return RefundsChanged(payment_id=intent if isinstance(intent, str) else "", event_id=event_id)


def _payment_method(session) -> str:
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        method = intent.get("payment_method")
        if isinstance(method, dict) and method.get("type"):
            return method["type"]
    types = session.get("payment_method_types") or []
    return types[0] if len(types) == 1 else UNKNOWN_METHOD


def _session_update(session, event_id: str, status: str) -> ProviderUpdate:
    paid = status == OrderStatus.PAID
    intent = session.get("payment_intent")
    return ProviderUpdate(
        status=status,
        transaction_id=session["id"],
        order_reference=session.get("client_reference_id")
        or (session.get("metadata") or {}).get("order_reference", ""),
        event_id=event_id,
        amount_cents=session.get("amount_total") if paid else None,
        currency=(session.get("currency") or "").upper() if paid else "",
        payment_method=_payment_method(session),
        payment_id=intent if isinstance(intent, str) else (intent or {}).get("id", ""),
    )


def _completed(session, event_id):
    if session.get("payment_status") == "paid":
        return _session_update(session, event_id, OrderStatus.PAID)
    # Paid by a delayed method (e.g. SEPA debit): the result follows as async_payment_*.
    return _session_update(session, event_id, OrderStatus.CREATED_AT_PROVIDER)


def _dispute(dispute, event_id):
    intent = dispute.get("payment_intent")
    amount = dispute.get("amount")
    return ProviderUpdate(
        status=OrderStatus.CHARGEBACK,
        event_id=event_id,
        # What the bank takes back: all of the charge, or part of it after a partial refund;
        # an amount that is no positive number of cents says nothing (all of it).
        amount_cents=amount if is_whole_cents(amount) and amount > 0 else None,
        currency=(dispute.get("currency") or "").upper(),
        note=f"Chargeback {dispute.get('id')}: {dispute.get('reason') or 'no reason given'}",
        payment_id=intent if isinstance(intent, str) else "",
    )


EVENT_HANDLERS = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": lambda s, e: _session_update(
        s, e, OrderStatus.PAID
    ),
    "checkout.session.async_payment_failed": lambda s, e: _session_update(s, e, OrderStatus.FAILED),
    "checkout.session.expired": lambda s, e: _session_update(s, e, OrderStatus.FAILED),
    "charge.dispute.created": _dispute,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_update,
    "refund.updated": _refund_update,
    "refund.failed": _refund_update,
}


def _line_item(order: PaymentOrder, cents: int, name: str) -> dict:
    return {
        "quantity": 1,
        "price_data": {
            "currency": order.currency.lower(),
            "unit_amount": cents,
            "product_data": {"name": name},
        },
    }
