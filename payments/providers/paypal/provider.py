"""PayPal Checkout (Orders v2, intent CAPTURE): the patron approves the payment at PayPal,
the portal captures it when the patron comes back (or PayPal's CHECKOUT.ORDER.APPROVED
webhook says so first) and books the capture through payment_order_transition.

Every capture and refund is sent with a PayPal-Request-Id made from our ids, so the return
page, the webhook and the reconcile job asking at once, or again after a timeout, get
the one capture or refund there is.
"""

import json
import logging

from django.conf import settings
from django.utils.translation import gettext as _

from payments.models import Mode, OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.providers.base import (
    Checkout,
    InvalidSignature,
    ProviderError,
    ProviderUpdate,
    RefundsChanged,
    RefundUpdate,
)
from payments.providers.paypal import events
from payments.providers.paypal.client import PayPalClient, PayPalRefusal
from payments.providers.paypal.orders import (
    PAYMENT_METHOD,
    approval_link,
    capture_update,
    first_capture,
    money,
    order_request,
)
from payments.providers.paypal.signatures import (
    forget_transmission,
    remember_transmission,
    verify,
)

logger = logging.getLogger(__name__)
# A capture PayPal refuses for the payer's funding source: the order failed, the patron
# may pay again.
DECLINED_ISSUES = {"INSTRUMENT_DECLINED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY"}
CAPTURE_EVENTS = {
    "PAYMENT.CAPTURE.COMPLETED": OrderStatus.PAID,
    "PAYMENT.CAPTURE.PENDING": OrderStatus.CREATED_AT_PROVIDER,
    "PAYMENT.CAPTURE.DENIED": OrderStatus.FAILED,
    "PAYMENT.CAPTURE.DECLINED": OrderStatus.FAILED,
}


class PayPalProvider:
    name = "paypal"
    supports_refunds = True
    # A cancelled approval leaves the PayPal order CREATED (payable) until PayPal drops it.
    cancel_gives_up = True

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        environment: str,
        mode: str,
        api_base: str = "",
        timeout_seconds: float = 20,
        tolerance_seconds: int = 300,
    ):
        self.mode = mode
        self.environment = environment
        self.webhook_id = webhook_id
        # Owners whose webhooks PayPal signs for the same webhook id share one account.
        self.account_key = f"paypal:{client_id}:{webhook_id}"
        self.timeout = timeout_seconds
        self.tolerance = tolerance_seconds
        self.client = PayPalClient(
            client_id=client_id,
            client_secret=client_secret,
            environment=environment,
            api_base=api_base,
            timeout_seconds=timeout_seconds,
        )

    @classmethod
    def from_settings(cls, *, client_id: str, client_secret: str, webhook_id: str):
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            webhook_id=webhook_id,
            environment=settings.PAYPAL_ENVIRONMENT,
            mode=Mode.LIVE if settings.PAYMENT_MODE == Mode.LIVE else Mode.TEST,
            api_base=settings.PAYPAL_API_BASE,
            timeout_seconds=settings.PAYPAL_TIMEOUT_SECONDS,
            tolerance_seconds=settings.WEBHOOK_TOLERANCE_SECONDS,
        )

    # --- checkout and capture ----------------------------------------------------------

    def start_checkout(self, order: PaymentOrder, *, return_url: str, cancel_url: str) -> Checkout:
        body = order_request(order, return_url=return_url, cancel_url=cancel_url)
        answer = self.client.create_order(body, request_id=f"epayment-order-{order.reference}")
        link = approval_link(answer)
        if not answer.get("id") or not link:
            raise ProviderError("PayPal's order has no approval link")
        return Checkout(transaction_id=answer["id"], redirect_url=link)

    def fetch(self, order: PaymentOrder) -> ProviderUpdate | None:
        """The return page and reconcile: an approved order is captured now."""
        if not order.provider_transaction_id:
            return None
        paypal_order = self.client.get_order(order.provider_transaction_id)
        status = paypal_order.get("status")
        if status == "APPROVED":
            return self._capture(order.provider_transaction_id)
        if status == "VOIDED":
            return ProviderUpdate(
                status=OrderStatus.FAILED,
                transaction_id=order.provider_transaction_id,
                payment_method=PAYMENT_METHOD,
            )
        return self._captured(paypal_order, "")

    def _captured(self, paypal_order: dict, event_id: str) -> ProviderUpdate | None:
        capture = first_capture(paypal_order)
        if capture is None:
            return None  # not approved yet: the patron is still at PayPal
        update = capture_update(capture, order_id=paypal_order.get("id", ""), event_id=event_id)
        if update is None or update.status == OrderStatus.CREATED_AT_PROVIDER:
            return None  # pending: the capture's webhook says how it ends
        return update

    def _capture(self, order_id: str, event_id: str = "") -> ProviderUpdate | None:
        try:
            captured = self.client.capture_order(
                order_id, request_id=f"epayment-capture-{order_id}"
            )
        except PayPalRefusal as refusal:
            if "ORDER_ALREADY_CAPTURED" in refusal.issues:
                captured = self.client.get_order(order_id)
            elif DECLINED_ISSUES & set(refusal.issues):
                return ProviderUpdate(
                    status=OrderStatus.FAILED,
                    transaction_id=order_id,
                    event_id=event_id,
                    payment_method=PAYMENT_METHOD,
                    note=f"PayPal: {', '.join(refusal.issues)}",
                )
            else:
                raise
        return self._captured(captured, event_id)

    def expire(self, order: PaymentOrder) -> None:
        # PayPal has no call to end an order that is not approved: it lapses by itself,
        # and one approved after the portal gave it up is never captured (_approved).
        return None

    # --- webhooks ----------------------------------------------------------------------

    def parse_webhook(
        self, body: bytes, headers
    ) -> list[ProviderUpdate | RefundUpdate | RefundsChanged]:
        transmission_id, at = verify(
            body,
            headers,
            webhook_id=self.webhook_id,
            tolerance_seconds=self.tolerance,
            timeout=self.timeout,
        )
        try:
            event = json.loads(body)
            kind, resource, event_id = event["event_type"], event["resource"], event["id"]
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidSignature("signed, but not a PayPal event") from error
        remember_transmission(transmission_id, at, self.tolerance)
        try:
            update = self._translate(kind, resource, event_id)
        except ProviderError:
            # Answered 503: PayPal's next delivery of it must not be taken for a replay.
            forget_transmission(transmission_id)
            raise
        return [update] if update else []

    def _translate(self, kind: str, resource: dict, event_id: str):
        if kind in CAPTURE_EVENTS:
            return capture_update(resource, event_id=event_id, status=CAPTURE_EVENTS[kind])
        if kind == "CHECKOUT.ORDER.APPROVED":
            return self._approved(resource, event_id)
        if kind == "PAYMENT.CAPTURE.REFUNDED":
            return events.refund_update(resource, event_id)
        if kind == "PAYMENT.CAPTURE.REVERSED":
            return events.reversal(resource, event_id)
        if kind == "CUSTOMER.DISPUTE.CREATED":
            return events.dispute(resource, event_id)
        return None

    def _approved(self, resource: dict, event_id: str) -> ProviderUpdate | None:
        """The patron approved at PayPal: capture now, unless the portal no longer waits
        for this order (given up, paid otherwise) or knows none by that id."""
        paypal_order_id = resource.get("id")
        order = paypal_order_id and (
            PaymentOrder.objects.filter(
                provider=self.name, provider_transaction_id=paypal_order_id
            ).first()
        )
        if order is None or not order.is_open:
            logger.info("Not capturing PayPal order %s: no open order", resource.get("id"))
            return None
        return self._capture(order.provider_transaction_id, event_id)

    # --- refunds -------------------------------------------------------------------------

    def order_reference_for_payment(self, payment_id: str) -> str:
        try:
            capture = self.client.get_capture(payment_id)
        except PayPalRefusal as refusal:
            logger.info("PayPal knows no capture %s: %s", payment_id, refusal)
            return ""
        return capture.get("custom_id") or capture.get("invoice_id") or ""

    def refund_payment_id(self, order: PaymentOrder) -> str:
        return order.provider_payment_id or ""

    def refund(self, refund: Refund) -> RefundUpdate:
        capture_id = refund.order.provider_payment_id
        body = {
            "amount": money(refund.amount_cents, refund.order.currency),
            "custom_id": refund.reference,
            "note_to_payer": _("Refund %(reference)s from %(payee)s")
            % {"reference": refund.reference, "payee": refund.order.payee.name},
        }
        try:
            # One request id per refund: asking again after a timeout never refunds twice.
            answer = self.client.refund_capture(
                capture_id, body, request_id=f"epayment-refund-{refund.reference}"
            )
        except PayPalRefusal as refusal:  # more than is left, disputed, too old, ...
            return RefundUpdate(
                status=RefundStatus.FAILED,
                refund_reference=refund.reference,
                payment_id=capture_id,
                failure=str(refusal),
            )
        return events.refund_update(answer, capture_id=capture_id)

    def refunds_of_payment(self, payment_id: str) -> list[RefundUpdate]:
        """PayPal lists no refunds of a capture: each refund of ours it gave an id is asked
        for; one it never answered is sent again by the caller (the same request id)."""
        known = Refund.objects.filter(
            order__provider=self.name,
            order__provider_payment_id=payment_id,
            provider_refund_id__gt="",
        )
        return [
            events.refund_update(self.client.get_refund(refund_id), capture_id=payment_id)
            for refund_id in known.values_list("provider_refund_id", flat=True)
        ]
