"""The desk's order page names the PayPal order and capture staff look up at PayPal."""

import pytest
from django.test import Client
from django.urls import reverse

from payments.models import PaymentOrder
from tests.payments.helpers import start_payment
from tests.payments.paypal.helpers import come_back

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def paid(patron_client, fees, fake_paypal):
    """The 5.00 order for the first fee, approved at (the fake) PayPal and captured."""
    start_payment(patron_client, fees[0])
    order = PaymentOrder.objects.get()
    fake_paypal.approve(order.provider_transaction_id)
    come_back(patron_client, order)
    order.refresh_from_db()
    return order


def order_page(desk, order, language="en"):
    url = reverse("staffdesk:order", args=[order.reference])
    return desk.get(url, headers={"accept-language": language}).content.decode()


def test_the_order_page_names_paypal_its_order_id_capture_id_and_method(desk, paid):
    page = order_page(desk, paid)

    assert '<dt>Provider</dt><dd id="provider">PayPal</dd>' in page
    assert (
        f'<dt>Order id at PayPal</dt><dd id="provider-order-id">{paid.provider_transaction_id}'
        in page
    )
    assert (
        f'<dt>Capture id at PayPal</dt><dd id="provider-payment-id">{paid.provider_payment_id}'
        in page
    )
    assert '<dd id="payment-method">PayPal</dd>' in page


def test_an_order_not_yet_captured_shows_no_capture_id(desk, patron_client, fees, fake_paypal):
    start_payment(patron_client, fees[0])

    page = order_page(desk, PaymentOrder.objects.get())

    assert '<dd id="provider-payment-id">\N{EN DASH}</dd>' in page


def test_the_ids_are_labelled_in_german(desk, paid):
    page = order_page(desk, paid, "de")

    assert "<dt>Auftragsnummer bei PayPal</dt>" in page
    assert "<dt>Capture-ID bei PayPal</dt>" in page
