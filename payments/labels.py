"""Statuses and payment methods in the interface language, wherever they are shown.

Statuses are stored as the seed documents name them (`CreatedAtProvider`); payment
methods as the provider or the desk names them (`card`, `sepa_debit`, `online: card`).
"""

import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fees.amounts import format_money
from payments.models import UNKNOWN_METHOD, EventKind, FlagResolution, OrderStatus, PaymentEvent

METHODS = {
    UNKNOWN_METHOD: gettext_lazy("Unknown"),
    "card": gettext_lazy("Card"),
    "cash": gettext_lazy("Cash"),
    "transfer": gettext_lazy("Bank transfer"),
    "sepa_debit": gettext_lazy("SEPA direct debit"),
    "paypal": gettext_lazy("PayPal"),
    "giropay": gettext_lazy("giropay"),
    "sofort": gettext_lazy("Sofort"),
    "ideal": gettext_lazy("iDEAL"),
    "link": gettext_lazy("Link"),
    "simulated": gettext_lazy("Simulated"),
}
PROVIDER_NAMES = {
    "stripe": "Stripe",
    "paypal": "PayPal",
    "simulated": gettext_lazy("simulated provider"),
}
ONLINE = "online: "


def online_method(method: str) -> str:
    """How the journal names a payment or refund made through a provider: `online: card`."""
    return f"{ONLINE}{method}"


def status_label(status: str) -> str:
    """`CreatedAtProvider` -> "Created at provider" / "Beim Anbieter angelegt"."""
    try:
        return str(OrderStatus(status).label)
    except ValueError:
        return status


def provider_label(provider: str) -> str:
    """`simulated` -> "simulated provider" / "simulierter Anbieter"; `stripe` -> "Stripe"."""
    return str(PROVIDER_NAMES.get(provider, provider))


def method_label(method: str) -> str:
    """`online: card` -> "online: Card" / "online: Karte"; unknown names stay as sent."""
    if method.startswith(ONLINE):
        return _("online: %(method)s") % {"method": method_label(method[len(ONLINE) :])}
    label = METHODS.get(method)
    return str(label) if label is not None else method


EVENT_SENTENCES = {
    EventKind.PROVIDER_UNREACHABLE: gettext_lazy("The provider could not be reached."),
    EventKind.GIVEN_UP: gettext_lazy("Given up by the patron."),
    EventKind.CHECKOUT_EXPIRED: gettext_lazy(
        "The checkout never reached the provider and has expired."
    ),
    EventKind.HELD_WRONG_CURRENCY: gettext_lazy(
        "Received %(amount)s; the order is in %(order_currency)s: held for staff, not booked."
    ),
    EventKind.HELD_FURTHER_PAYMENT: gettext_lazy("Further payment reported, not booked."),
    EventKind.COMPLETION_CONFIRMED: gettext_lazy(
        "The provider confirms the payment staff completed."
    ),
    EventKind.MONEY_BOOKED: gettext_lazy("Booked %(amount)s received on %(date)s."),
    EventKind.MONEY_CLOSED: gettext_lazy("Closed %(amount)s received on %(date)s without booking."),
    EventKind.FLAG_RESOLVED: gettext_lazy("%(resolution)s."),
    EventKind.PAID_THERE_TOO: gettext_lazy(
        "The library system had been paid %(amount)s of these fees meanwhile (at its desk, "
        "say): that much was delivered to it as the patron's credit, not as paying the fees "
        "again. Refund it, or leave it as credit."
    ),
}


def datetime_label(moment: datetime.datetime) -> str:
    """A moment in the library's time zone and the reader's short date-and-time format."""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def event_text(event: PaymentEvent) -> str:
    """What the event says, in the reader's language: the portal's sentence from the event's
    facts, then the staff's or the provider's own words as they were given."""
    sentence = EVENT_SENTENCES.get(event.kind)
    if sentence is None:
        return event.note
    facts = event.facts or {}
    values = {"order_currency": facts.get("order_currency", "")}
    if "amount_cents" in facts:
        values["amount"] = format_money(facts["amount_cents"], facts["currency"])
    if "received_at" in facts:
        values["date"] = datetime_label(datetime.datetime.fromisoformat(facts["received_at"]))
    if "resolution" in facts:
        values["resolution"] = resolution_label(facts["resolution"])
    text = str(sentence) % values
    return f"{text} {event.note}" if event.note else text


def resolution_label(code: str) -> str:
    try:
        return str(FlagResolution(code).label)
    except ValueError:
        return code
