"""What the payment tests do again and again: pay for fees from the account page, pick an
outcome on the simulated provider's page, start an order at (the fake) Stripe and deliver
its signed webhooks."""

from contextlib import contextmanager

from django.urls import reverse

from payments import services
from tests.factories import FeeFactory
from tests.payments.fake_stripe import FakeStripe, signed

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


@contextmanager
def stripe_faked(settings):
    """The fake Stripe, and the portal's Stripe settings (STRIPE_* only) pointing at it."""
    fake = FakeStripe()
    settings.STRIPE_SECRET_KEY = "sk_test_51Fake"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_TIMEOUT_SECONDS = 1
    try:
        yield fake
    finally:
        fake.stop()


STRIPE_WEBHOOK = reverse("payments:webhook", args=["stripe"])


def start_payment(client, *fees):
    """Select these fees on the account page and press pay: the answer (a redirect to the
    provider's page when the payment starts)."""
    return client.post(reverse("payments:pay"), {"fee": [fee.pk for fee in fees]})


def choose(client, checkout_url, action, delivery="now"):
    """On the simulated provider's page: pay, pay less, fail, abandon, charge back."""
    return client.post(checkout_url, {"action": action, "delivery": delivery})


def started_order(fake_stripe, patron=None, owner=None):
    """A 5.00 order for a new fee (of `owner`, the default owner's without), started at the
    fake Stripe."""
    fee = FeeFactory(amount_cents=500, owner=owner, **({"patron": patron} if patron else {}))
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
    services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    order.refresh_from_db()
    return order


def deliver(client, payload, *, secret=WEBHOOK_SECRET, timestamp=None, tamper=False, header=True):
    """Post a Stripe event to the webhook, signed as Stripe signs it (or tampered with)."""
    body, signature = signed(payload, secret, timestamp=timestamp)
    if tamper:
        body = body.replace(b'"amount_total": 500', b'"amount_total": 5')
    headers = {"Stripe-Signature": signature} if header else {}
    return client.post(STRIPE_WEBHOOK, body, content_type="application/json", headers=headers)
