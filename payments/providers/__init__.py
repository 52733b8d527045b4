"""The configured payment providers. One module per provider; see base.Provider."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.models import Mode
from payments.providers.base import Provider


def _stripe() -> Provider:
    from payments.providers.stripe import StripeProvider

    if not (settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET):
        raise ImproperlyConfigured("Stripe keys are not configured.")
    return StripeProvider.from_settings()


def _simulated() -> Provider:
    from payments.providers.simulated import SimulatedProvider

    return SimulatedProvider.from_settings()


# Every provider by its name, loaded when first asked for (Stripe's SDK only if it is used).
PROVIDERS = {"stripe": _stripe, "simulated": _simulated}


def get_provider(name: str | None = None) -> Provider:
    """The provider called `name`, or the one new orders use."""
    name = name or settings.PAYMENT_PROVIDER
    if name not in PROVIDERS:
        raise ImproperlyConfigured(f"Unknown payment provider {name!r}.")
    return PROVIDERS[name]()


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
    if settings.PAYMENT_PROVIDER not in PROVIDERS:
        problems.append(f"Unknown PAYMENT_PROVIDER {settings.PAYMENT_PROVIDER!r}.")
    return problems
