"""Statuses and payment methods in the interface language, wherever they are shown.

Statuses are stored as the seed documents name them (`CreatedAtProvider`); payment
methods as the provider or the desk names them (`card`, `sepa_debit`, `online: card`).
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.models import UNKNOWN_METHOD, OrderStatus

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
}
ONLINE = "online: "
PROVIDERS = {"stripe": gettext_lazy("Stripe"), "simulated": gettext_lazy("simulated provider")}


def online_method(method: str) -> str:
    """How the journal names a payment or refund made through a provider: `online: card`."""
    return f"{ONLINE}{method}"


def status_label(status: str) -> str:
    """`CreatedAtProvider` -> "Created at provider" / "Beim Anbieter angelegt"."""
    try:
        return str(OrderStatus(status).label)
    except ValueError:
        return status


def method_label(method: str) -> str:
    """`online: card` -> "online: Card" / "online: Karte"; unknown names stay as sent."""
    if method.startswith(ONLINE):
        return _("online: %(method)s") % {"method": method_label(method[len(ONLINE) :])}
    label = METHODS.get(method)
    return str(label) if label is not None else method


def provider_label(provider: str) -> str:
    """`simulated` -> "simulated provider"; a provider not named here by its own name."""
    label = PROVIDERS.get(provider)
    return str(label) if label is not None else provider
