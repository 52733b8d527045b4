"""The configured payment providers. One module per provider; see base.Provider.

Each fee owner may have its own merchant account at a provider (fees.models.Owner names
the environment variables with its keys); an owner that names none uses the portal's.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from fees.models import Owner
from payments.models import Mode, PaymentOrder
from payments.providers.base import Provider

logger = logging.getLogger(__name__)


def _stripe(owner: Owner | None) -> Provider:
    from payments.providers.stripe import StripeProvider

    if owner is None:
        secret_key, webhook_secret = settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET
    else:
        secret_key = owner.secret("stripe_secret_key_env", "STRIPE_SECRET_KEY")
        webhook_secret = owner.secret("stripe_webhook_secret_env", "STRIPE_WEBHOOK_SECRET")
    if not (secret_key and webhook_secret):
        raise ImproperlyConfigured("Stripe keys are not configured.")
    return StripeProvider.from_settings(secret_key=secret_key, webhook_secret=webhook_secret)


def _paypal(owner: Owner | None) -> Provider:
    from payments.providers.paypal import PayPalProvider

    if owner is None:
        client_id, webhook_id = settings.PAYPAL_CLIENT_ID, settings.PAYPAL_WEBHOOK_ID
        client_secret = settings.PAYPAL_CLIENT_SECRET
    else:
        client_id = owner.paypal_client_id or settings.PAYPAL_CLIENT_ID
        webhook_id = owner.paypal_webhook_id or settings.PAYPAL_WEBHOOK_ID
        client_secret = owner.secret("paypal_client_secret_env", "PAYPAL_CLIENT_SECRET")
    if not (client_id and client_secret and webhook_id):
        raise ImproperlyConfigured("PayPal's client id, secret and webhook id are not configured.")
    return PayPalProvider.from_settings(
        client_id=client_id, client_secret=client_secret, webhook_id=webhook_id
    )


def _simulated(owner: Owner | None) -> Provider:
    from payments.providers.simulated import SimulatedProvider

    # Each owner but the default one is a merchant of its own, as with a real provider.
    merchant = "" if owner is None or owner.is_default else owner.code
    return SimulatedProvider.from_settings(merchant=merchant)


# Every provider by its name, loaded when first asked for (each SDK only if it is used).
PROVIDERS = {"stripe": _stripe, "paypal": _paypal, "simulated": _simulated}


def get_provider(name: str | None = None, owner: Owner | None = None) -> Provider:
    """The provider called `name` (or the one the owner's new orders use), with the owner's
    merchant account; the portal's account without an owner."""
    name = name or (owner.payment_provider if owner else settings.PAYMENT_PROVIDER)
    if name not in PROVIDERS:
        raise ImproperlyConfigured(f"Unknown payment provider {name!r}.")
    return PROVIDERS[name](owner)


def order_provider(order: PaymentOrder) -> Provider:
    """The provider of the order, with its owner's merchant account."""
    return get_provider(order.provider, owner=order.payee)


@dataclass(frozen=True)
class ProviderAccount:
    """One merchant account at a provider, and the owners whose money goes to it."""

    provider: Provider
    owner_ids: frozenset[int]

    def holds(self, order: PaymentOrder) -> bool:
        return order.payee.pk in self.owner_ids


def provider_accounts(name: str) -> list[ProviderAccount]:
    """The merchant accounts the owners have at provider `name`: owners whose webhooks are
    signed with the same secret share one. An owner whose keys are missing is left out
    (and logged), so that it cannot stop the others' webhooks."""
    if name not in PROVIDERS:
        raise ImproperlyConfigured(f"Unknown payment provider {name!r}.")
    Owner.objects.default()  # there is always one
    accounts: dict[str, tuple[Provider, set[int]]] = {}
    for owner in Owner.objects.all():
        try:
            provider = get_provider(name, owner=owner)
        except ImproperlyConfigured as error:
            logger.warning("Owner %s has no %s account: %s", owner.code, name, error)
            continue
        # What tells one merchant account's webhooks from another's.
        key = getattr(provider, "account_key", None) or getattr(provider, "webhook_secret", name)
        accounts.setdefault(key, (provider, set()))[1].add(owner.pk)
    if not accounts:
        raise ImproperlyConfigured(f"No owner has a {name} account.")
    return [ProviderAccount(provider, frozenset(ids)) for provider, ids in accounts.values()]


def check_provider_settings() -> list[str]:
    """Problems with the provider configuration, as messages (empty: all good)."""
    problems = []
    if settings.PAYMENT_MODE not in Mode.values:
        problems.append(f"PAYMENT_MODE must be 'test' or 'live', not {settings.PAYMENT_MODE!r}.")
    if settings.PAYMENT_PROVIDER == "simulated" and settings.PAYMENT_MODE == Mode.LIVE:
        problems.append("The simulated provider cannot be used in live mode.")
    if settings.PAYMENT_PROVIDER == "stripe":
        key = settings.STRIPE_SECRET_KEY
        if not key or not settings.STRIPE_WEBHOOK_SECRET:
            problems.append("Stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.")
        elif ("_live_" in key) != (settings.PAYMENT_MODE == Mode.LIVE):
            problems.append(
                f"PAYMENT_MODE is {settings.PAYMENT_MODE!r} but the Stripe key is a "
                f"{'live' if '_live_' in key else 'test'} key."
            )
    if settings.PAYMENT_PROVIDER == "paypal":
        problems += _paypal_problems()
    if settings.PAYMENT_PROVIDER not in PROVIDERS:
        problems.append(f"Unknown PAYMENT_PROVIDER {settings.PAYMENT_PROVIDER!r}.")
    return problems


PAYPAL_ENVIRONMENTS = {"sandbox": Mode.TEST, "live": Mode.LIVE}


def _paypal_problems() -> list[str]:
    if not (
        settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET and settings.PAYPAL_WEBHOOK_ID
    ):
        return ["PayPal needs PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET and PAYPAL_WEBHOOK_ID."]
    environment = settings.PAYPAL_ENVIRONMENT
    if environment not in PAYPAL_ENVIRONMENTS:
        return [f"PAYPAL_ENVIRONMENT must be 'sandbox' or 'live', not {environment!r}."]
    if PAYPAL_ENVIRONMENTS[environment] != settings.PAYMENT_MODE:
        return [
            f"PAYMENT_MODE is {settings.PAYMENT_MODE!r} but PAYPAL_ENVIRONMENT is "
            f"{environment!r}: live payments need PayPal's live environment, tests its sandbox."
        ]
    return []
