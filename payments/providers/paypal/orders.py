"""PayPal orders and captures in the portal's terms: the order we ask PayPal for, and what
its captures mean for ours.

Amounts are the portal's integer minor units; PayPal writes them as decimal strings with
as many decimals as the currency has. Neither side ever passes through a float.
"""

import re

from fees.amounts import is_whole_cents
from fees.models import service_fee_kind
from payments.models import OrderStatus, PaymentOrder
from payments.providers.base import ProviderUpdate

PAYMENT_METHOD = "paypal"
# Currencies PayPal takes without decimals (its currency codes page); all others have two.
NO_DECIMALS = {"HUF", "JPY", "TWD"}
# PayPal's limit on an item's name and a purchase unit's description.
NAME_LENGTH = 127


def decimals(currency: str) -> int:
    return 0 if currency.upper() in NO_DECIMALS else 2


def money(cents: int, currency: str) -> dict:
    """Minor units as PayPal's money object: 1234 EUR is "12.34", 1234 JPY "1234"."""
    if not is_whole_cents(cents):
        raise ValueError(f"{cents!r} is no whole number of minor units")
    places = decimals(currency)
    sign, digits = ("-" if cents < 0 else ""), str(abs(cents))
    if places:
        digits = digits.rjust(places + 1, "0")
        digits = f"{digits[:-places]}.{digits[-places:]}"
    return {"currency_code": currency.upper(), "value": sign + digits}


def cents_of(amount: dict | None) -> int | None:
    """PayPal's money object in minor units (None when it is missing or unreadable)."""
    if not amount or not isinstance(amount.get("value"), str):
        return None
    places = decimals(amount.get("currency_code", ""))
    # PayPal's own pattern for a value: "-?[0-9]+" or "-?[0-9]*.[0-9]+".
    found = re.fullmatch(r"(-?)([0-9]*)(?:\.([0-9]+))?", amount["value"].strip())
    if not found or not (found[2] or found[3]):
        return None
    sign, whole, fraction = found[1], found[2] or "0", found[3] or ""
    if len(fraction) > places and set(fraction[places:]) != {"0"}:
        return None  # more precision than the currency has: not an amount we could book
    cents = int(whole) * 10**places + int((fraction + "0" * places)[:places] or "0")
    return -cents if sign else cents


def _item(name: str, cents: int, currency: str) -> dict:
    return {
        "name": name[:NAME_LENGTH] or "-",
        "quantity": "1",
        "unit_amount": money(cents, currency),
        "category": "DIGITAL_GOODS",
    }


def order_request(order: PaymentOrder, *, return_url: str, cancel_url: str, locale="") -> dict:
    """One purchase unit for the order: its fees as items, its reference as PayPal's
    invoice and custom id (what finds the order again from any capture or refund)."""
    currency, payee = order.currency, order.payee.name
    items = [
        _item(line.fee.description or order.reference, line.amount_cents, currency)
        for line in order.order_fees.select_related("fee").order_by("pk")
    ]
    if order.service_fee_cents:
        items.append(_item(service_fee_kind().name, order.service_fee_cents, currency))
    context = {
        "brand_name": payee[:NAME_LENGTH],
        "shipping_preference": "NO_SHIPPING",
        "user_action": "PAY_NOW",
        "return_url": return_url,
        "cancel_url": cancel_url,
    }
    if locale:
        context["locale"] = locale
    return {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "reference_id": order.reference,
                "invoice_id": order.reference,
                "custom_id": order.reference,
                "description": f"{payee} {order.reference}"[:NAME_LENGTH],
                "amount": {
                    **money(order.amount_cents, currency),
                    "breakdown": {"item_total": money(order.amount_cents, currency)},
                },
                "items": items,
            }
        ],
        "payment_source": {"paypal": {"experience_context": context}},
    }


def approval_link(paypal_order: dict) -> str:
    """Where the patron approves the payment: "payer-action" when the order names a
    payment source, "approve" in PayPal's older answers."""
    links = {link.get("rel"): link.get("href") for link in paypal_order.get("links") or []}
    return links.get("payer-action") or links.get("approve") or ""


def first_capture(paypal_order: dict) -> dict | None:
    units = paypal_order.get("purchase_units") or [{}]
    captures = (units[0].get("payments") or {}).get("captures") or []
    return captures[0] if captures else None


def up_id(resource: dict, kind: str) -> str:
    """The id of the resource its "up" link names (a refund's capture, a capture's order)."""
    for link in resource.get("links") or []:
        href = link.get("href") or ""
        if link.get("rel") == "up" and f"/{kind}/" in href:
            return href.rstrip("/").rsplit("/", 1)[-1]
    return ""


# What a capture's status means for the order. A refunded capture was paid first; its
# refunds are news of their own.
CAPTURE_STATUSES = {
    "COMPLETED": OrderStatus.PAID,
    "PARTIALLY_REFUNDED": OrderStatus.PAID,
    "REFUNDED": OrderStatus.PAID,
    "PENDING": OrderStatus.CREATED_AT_PROVIDER,
    "DECLINED": OrderStatus.FAILED,
    "DENIED": OrderStatus.FAILED,
    "FAILED": OrderStatus.FAILED,
}


def capture_update(capture: dict, *, order_id: str = "", event_id: str = "", status=None):
    """What a capture says about our order (None: nothing we act on)."""
    status = status or CAPTURE_STATUSES.get(capture.get("status", ""))
    if status is None:
        return None
    related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
    paid = status == OrderStatus.PAID
    amount = capture.get("amount") or {}
    details = (capture.get("status_details") or {}).get("reason", "")
    if paid and cents_of(amount) is None:
        return None  # money we cannot read is not money we can book
    return ProviderUpdate(
        status=status,
        transaction_id=order_id or related.get("order_id") or up_id(capture, "orders"),
        order_reference=capture.get("custom_id") or capture.get("invoice_id") or "",
        event_id=event_id,
        amount_cents=cents_of(amount) if paid else None,
        currency=amount.get("currency_code", "").upper() if paid else "",
        payment_method=PAYMENT_METHOD,
        note=f"PayPal: {details}" if details else "",
        payment_id=capture.get("id", ""),
    )
