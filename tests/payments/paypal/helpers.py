"""What the PayPal tests do again and again: deliver signed webhooks, come back from PayPal."""

import datetime
from contextlib import contextmanager

from django.urls import reverse

from payments.models import PaymentOrder
from payments.providers.paypal.client import forget_tokens
from payments.providers.paypal.signatures import forget_certificates
from tests.payments.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal
from tests.payments.paypal.signing import (
    WEBHOOK_ID,
    encoded,
    event_problems,
    key_and_certificate,
    signed_headers,
)

PAYPAL_WEBHOOK = reverse("payments:webhook", args=["paypal"])


@contextmanager
def paypal_faked(settings):
    """The fake PayPal (an HTTP server of its own, so reachable from a live server's
    thread too) as the portal's provider, trusted for its webhook certificate."""
    with FakePayPal() as fake:
        fake.certificate_pem = key_and_certificate()[1]
        settings.PAYMENT_PROVIDER = "paypal"
        settings.PAYPAL_CLIENT_ID = CLIENT_ID
        settings.PAYPAL_CLIENT_SECRET = CLIENT_SECRET
        settings.PAYPAL_WEBHOOK_ID = WEBHOOK_ID
        settings.PAYPAL_API_BASE = fake.url
        settings.PAYPAL_CERT_ORIGINS = [fake.url]
        settings.PAYPAL_TIMEOUT_SECONDS = 2
        forget_certificates()
        forget_tokens()  # a fake of an earlier test may have had this one's address
        yield fake
        forget_certificates()
        forget_tokens()
        # Nothing the portal sent, nor anything the fake answered, may be off PayPal's description.
        assert fake.violations == []


def deliver(
    client,
    fake,
    payload: dict,
    *,
    body: bytes | None = None,
    webhook_id: str = WEBHOOK_ID,
    cert_url: str | None = None,
    transmission_id: str | None = None,
    sent_at: datetime.datetime | None = None,
):
    """Post a PayPal event to the webhook, signed as PayPal signs it. `body` (when given)
    is what is sent instead of the signed body: a forgery."""
    assert event_problems(payload) == []
    signed = encoded(payload)
    headers = signed_headers(
        signed,
        cert_url=cert_url or fake.cert_url,
        webhook_id=webhook_id,
        transmission_id=transmission_id,
        sent_at=sent_at,
    )
    return client.post(
        PAYPAL_WEBHOOK,
        body if body is not None else signed,
        content_type="application/json",
        headers=headers,
    )


def come_back(client, order: PaymentOrder):
    """The patron returns from PayPal to the order page, as PayPal sends them back."""
    paypal_order = order.provider_transaction_id
    url = reverse("payments:order", args=[order.reference])
    return client.get(url, {"token": paypal_order, "PayerID": "FAKEPAYER123"})
