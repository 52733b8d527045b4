"""Starting a Stripe Checkout Session, with Stripe faked at the HTTP layer."""

import socket
import time

import pytest
from django.urls import reverse

from fees.models import JournalEntry, Owner
from payments.models import OrderStatus, PaymentOrder

pytestmark = pytest.mark.django_db


def pay(client, *fees):
    return client.post(reverse("payments:pay"), {"fee": [fee.pk for fee in fees]})


def test_patron_is_sent_to_the_stripe_hosted_page(patron_client, fees, fake_stripe):
    response = pay(patron_client, fees[0])

    order = PaymentOrder.objects.get()
    session = fake_stripe.session_for(order.reference)
    assert response.url == session["url"]
    assert order.provider_transaction_id == session["id"]
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert (order.provider, order.mode) == ("stripe", "test")


def test_session_carries_amount_reference_expiry_and_our_idempotency_key(
    patron_client, fees, fake_stripe
):
    pay(patron_client, fees[0], fees[1])

    order = PaymentOrder.objects.get()
    request = fake_stripe.requests[-1]
    form = request["form"]
    assert request["path"] == "/v1/checkout/sessions"
    assert request["headers"]["Authorization"] == "Bearer sk_test_51Fake"
    assert request["headers"]["Idempotency-Key"] == f"epayment-order-{order.reference}"
    assert form["line_items[0][price_data][unit_amount]"] == "1700"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["client_reference_id"] == order.reference
    assert form["metadata[order_reference]"] == order.reference
    assert abs(int(form["expires_at"]) - (time.time() + 1800)) < 60
    assert form["success_url"].endswith(
        f"/orders/{order.reference}/?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert form["customer_email"] == "patron@example.org"


def test_a_service_fee_is_a_line_of_its_own_in_the_session(patron_client, fees, fake_stripe):
    Owner.objects.filter(is_default=True).update(name_en="City Library", service_fee_cents=50)

    pay(patron_client, fees[0])

    order = PaymentOrder.objects.get()
    form = fake_stripe.requests[-1]["form"]
    assert form["line_items[0][price_data][unit_amount]"] == "500"
    assert (
        form["line_items[0][price_data][product_data][name]"] == f"City Library: {order.reference}"
    )
    assert form["line_items[1][price_data][unit_amount]"] == "50"
    assert form["line_items[1][price_data][product_data][name]"] == (
        "City Library: Service fee for paying online"
    )
    assert fake_stripe.session_for(order.reference)["amount_total"] == 550


@pytest.mark.parametrize("failure", ["500", "hang", "refused"])
def test_provider_down_fails_the_order_and_tells_the_patron(
    patron_client, fees, fake_stripe, settings, failure
):
    if failure == "refused":
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    else:
        fake_stripe.failure = failure

    response = pay(patron_client, fees[0])

    assert response.status_code == 503
    assert "payment service cannot be reached" in response.content.decode()
    order = PaymentOrder.objects.get()
    assert order.status == OrderStatus.FAILED
    assert order.events.last().source == "system"
    assert not JournalEntry.objects.filter(kind="payment").exists()
    assert not order.order_fees.filter(reserved=True).exists()


def test_after_the_provider_recovers_the_same_fees_can_be_paid(patron_client, fees, fake_stripe):
    fake_stripe.failure = "500"
    pay(patron_client, fees[0])
    fake_stripe.failure = None

    response = pay(patron_client, fees[0])

    assert response.status_code == 302
    assert PaymentOrder.objects.filter(status=OrderStatus.CREATED_AT_PROVIDER).count() == 1


def test_stripe_in_live_mode_with_a_test_key_is_a_configuration_error(settings):
    from payments.providers import check_provider_settings

    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_51Fake"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.PAYMENT_MODE = "live"

    assert check_provider_settings() == ["PAYMENT_MODE is 'live' but the Stripe key is a test key."]


def test_simulated_provider_in_live_mode_is_a_configuration_error(settings):
    from payments.providers import check_provider_settings

    settings.PAYMENT_PROVIDER = "simulated"
    settings.PAYMENT_MODE = "live"

    assert check_provider_settings() == ["The simulated provider cannot be used in live mode."]
