"""PayPal's webhook signatures, verified offline: real deliveries signed with the tests'
own certificate, served by the fake PayPal as the certificate URL. Each forgery is
refused with 400 and nothing is written."""

import datetime
import json

import pytest

from payments.models import (
    MoneyReport,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    UnmatchedProviderReport,
    WebhookTransmission,
)
from payments.providers import order_provider
from tests.payments.helpers import start_payment
from tests.payments.paypal.helpers import come_back, deliver
from tests.payments.paypal.signing import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(patron_client, fees, fake_paypal):
    """A 5.00 order approved at PayPal, whose capture the portal has not heard of yet."""
    start_payment(patron_client, fees[0])
    order = PaymentOrder.objects.get()
    fake_paypal.approve(order.provider_transaction_id)
    # Captured behind the portal's back, so that only the webhook can tell it.
    order_provider(order).client.capture_order(
        order.provider_transaction_id, request_id="capture-by-the-test"
    )
    return fake_paypal.capture_of(order.provider_transaction_id)


@pytest.fixture
def completed(capture):
    return event("PAYMENT.CAPTURE.COMPLETED", capture)


def written() -> tuple:
    """What a delivery could write: the order's status and every row it might add."""
    return (
        PaymentOrder.objects.get().status,
        PaymentEvent.objects.count(),
        MoneyReport.objects.count(),
        UnmatchedProviderReport.objects.count(),
        WebhookTransmission.objects.count(),
    )


def test_a_valid_delivery_is_accepted_and_books(client, completed, fake_paypal):
    response = deliver(client, fake_paypal, completed)

    assert response.status_code == 200
    assert PaymentOrder.objects.get().status == OrderStatus.PAID


def test_a_forged_body_is_refused(client, completed, fake_paypal):
    cheap = {"currency_code": "EUR", "value": "0.05"}
    forged = dict(completed, resource=dict(completed["resource"], amount=cheap))

    before = written()
    response = deliver(client, fake_paypal, completed, body=json.dumps(forged).encode())

    assert response.status_code == 400
    assert written() == before


def test_a_signature_for_another_webhook_is_refused(client, completed, fake_paypal):
    before = written()
    response = deliver(client, fake_paypal, completed, webhook_id="1JE4291016473214C")

    assert response.status_code == 400
    assert written() == before


def test_a_certificate_on_another_host_is_refused(client, completed, fake_paypal):
    elsewhere = fake_paypal.cert_url.replace("127.0.0.1", "localhost")

    before = written()
    response = deliver(client, fake_paypal, completed, cert_url=elsewhere)

    assert response.status_code == 400
    assert written() == before
    assert fake_paypal.sent("GET", r"/v1/notifications/certs/.*") == []


def test_a_certificate_over_plain_http_from_paypal_is_refused(client, completed, fake_paypal):
    cert_url = "http://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-fake"

    before = written()
    response = deliver(client, fake_paypal, completed, cert_url=cert_url)

    assert response.status_code == 400
    assert written() == before


def test_a_replayed_transmission_is_refused(client, completed, fake_paypal):
    deliver(client, fake_paypal, completed, transmission_id="69cd13f0-d67a-11e5-baa3-778b53f4ae55")
    written = PaymentEvent.objects.count(), MoneyReport.objects.count()

    response = deliver(
        client, fake_paypal, completed, transmission_id="69cd13f0-d67a-11e5-baa3-778b53f4ae55"
    )

    assert response.status_code == 400
    assert (PaymentEvent.objects.count(), MoneyReport.objects.count()) == written
    assert WebhookTransmission.objects.count() == 1


def test_a_stale_transmission_time_is_refused(client, completed, fake_paypal):
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)

    before = written()
    response = deliver(client, fake_paypal, completed, sent_at=long_ago)

    assert response.status_code == 400
    assert written() == before
    assert not WebhookTransmission.objects.exists()


def test_a_transmission_time_in_the_future_is_refused(client, completed, fake_paypal):
    ahead = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)

    before = written()
    response = deliver(client, fake_paypal, completed, sent_at=ahead)

    assert response.status_code == 400
    assert written() == before


def test_a_delivery_without_signature_headers_is_refused(client, completed, fake_paypal):
    from tests.payments.paypal.helpers import PAYPAL_WEBHOOK
    from tests.payments.paypal.signing import encoded

    before = written()
    response = client.post(PAYPAL_WEBHOOK, encoded(completed), content_type="application/json")

    assert response.status_code == 400
    assert written() == before


def test_the_certificate_is_fetched_once(client, capture, fake_paypal):
    deliver(client, fake_paypal, event("PAYMENT.CAPTURE.PENDING", capture))
    deliver(client, fake_paypal, event("PAYMENT.CAPTURE.COMPLETED", capture))

    assert len(fake_paypal.sent("GET", r"/v1/notifications/certs/.*")) == 1


def test_transmissions_are_forgotten_once_stale(client, completed, fake_paypal, settings):
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    WebhookTransmission.objects.create(provider="paypal", transmission_id="old", sent_at=old)

    deliver(client, fake_paypal, completed)

    assert not WebhookTransmission.objects.filter(transmission_id="old").exists()


def test_the_return_page_still_works_after_a_refused_delivery(
    client, patron_client, completed, fake_paypal
):
    deliver(client, fake_paypal, completed, webhook_id="1JE4291016473214C")

    come_back(patron_client, PaymentOrder.objects.get())

    assert PaymentOrder.objects.get().status == OrderStatus.PAID
