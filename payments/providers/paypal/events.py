"""PayPal's webhook events in the portal's terms. Each handler gets the event's resource
(a capture, a refund, an order or a dispute, as PayPal's event names say) and its id."""

from payments.models import OrderStatus, RefundStatus
from payments.providers.base import ProviderUpdate, RefundUpdate
from payments.providers.paypal.orders import cents_of, up_id

# PayPal's refund statuses; PENDING is still on its way.
REFUND_STATUSES = {
    "COMPLETED": RefundStatus.SUCCEEDED,
    "PENDING": RefundStatus.REQUESTED,
    "FAILED": RefundStatus.FAILED,
    "CANCELLED": RefundStatus.FAILED,
}


def refund_update(refund: dict, event_id: str = "", capture_id: str = "") -> RefundUpdate:
    details = (refund.get("status_details") or {}).get("reason", "")
    status = REFUND_STATUSES.get(refund.get("status", ""), RefundStatus.REQUESTED)
    return RefundUpdate(
        status=status,
        provider_refund_id=refund.get("id", ""),
        refund_reference=refund.get("custom_id", ""),
        payment_id=capture_id or up_id(refund, "captures"),
        amount_cents=cents_of(refund.get("amount")),
        event_id=event_id,
        failure=details if status == RefundStatus.FAILED else "",
    )


def reversal(resource: dict, event_id: str) -> ProviderUpdate:
    """PayPal took a capture's money back (a lost dispute, a reversed funding source): the
    resource is the refund-like record of it, or the capture itself."""
    capture_id = up_id(resource, "captures") or resource.get("id", "")
    amount = cents_of(resource.get("amount"))
    return ProviderUpdate(
        status=OrderStatus.CHARGEBACK,
        event_id=event_id,
        amount_cents=amount if amount and amount > 0 else None,
        currency=(resource.get("amount") or {}).get("currency_code", ""),
        note=f"PayPal reversed capture {capture_id}",
        payment_id=capture_id,
    )


def dispute(resource: dict, event_id: str) -> ProviderUpdate | None:
    """A dispute names the capture it is about as the seller's transaction id."""
    transactions = resource.get("disputed_transactions") or [{}]
    capture_id = transactions[0].get("seller_transaction_id", "")
    if not capture_id:
        return None
    amount = cents_of(resource.get("dispute_amount"))
    reason = resource.get("reason") or "no reason given"
    return ProviderUpdate(
        status=OrderStatus.CHARGEBACK,
        event_id=event_id,
        # What the payer disputes; an amount that is no positive number says all of it.
        amount_cents=amount if amount and amount > 0 else None,
        currency=(resource.get("dispute_amount") or {}).get("currency_code", ""),
        note=f"Dispute {resource.get('dispute_id', '')}: {reason}",
        payment_id=capture_id,
    )
