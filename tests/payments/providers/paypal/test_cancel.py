"""The patron cancels on PayPal's page: PayPal sends them to the cancel URL, where the
order is given up and its fees can be paid again."""

from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from payments.models import EventKind, OrderStatus, PaymentOrder
from tests.factories import PatronFactory
from tests.payments.helpers import start_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(patron_client, fees, fake_paypal):
    """The 5.00 order for the first fee, started at (the fake) PayPal."""
    start_payment(patron_client, fees[0])
    return PaymentOrder.objects.get()


def cancel_at_paypal(client, fake_paypal, order):
    """Press "Cancel and return" on the fake's approval page and follow it back."""
    answer = requests.post(
        f"{fake_paypal.url}/checkoutnow",
        params={"token": order.provider_transaction_id},
        data={"action": "cancel"},
        allow_redirects=False,
        timeout=5,
    )
    back = urlsplit(answer.headers["Location"])
    return client.get(back.path, {"token": order.provider_transaction_id})


def test_cancelling_at_paypal_gives_the_order_up(patron_client, fake_paypal, order):
    cancel_at_paypal(patron_client, fake_paypal, order)

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.events.last().kind == EventKind.GIVEN_UP


def test_the_patron_sees_the_account_with_a_message(patron_client, fake_paypal, order):
    response = cancel_at_paypal(patron_client, fake_paypal, order)

    page = patron_client.get(response.url).content.decode()
    assert response.url == reverse("payments:account")
    assert f"You cancelled payment {order.reference}. Nothing has been charged" in page


def test_the_fees_can_be_paid_again_after_cancelling(patron_client, fake_paypal, order, fees):
    cancel_at_paypal(patron_client, fake_paypal, order)

    assert start_payment(patron_client, fees[0]).status_code == 302
    assert PaymentOrder.objects.filter(status=OrderStatus.CREATED_AT_PROVIDER).count() == 1


def test_an_order_approved_meanwhile_is_captured_not_given_up(patron_client, fake_paypal, order):
    fake_paypal.approve(order.provider_transaction_id)

    response = cancel_at_paypal(patron_client, fake_paypal, order)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert response.url == reverse("payments:order", args=[order.reference])


def test_another_patrons_cancel_link_is_not_found(client, fake_paypal, order):
    client.force_login(PatronFactory().user)

    assert client.get(reverse("payments:cancelled", args=[order.reference])).status_code == 404
    assert PaymentOrder.objects.get().status == OrderStatus.CREATED_AT_PROVIDER


def test_the_message_is_in_german_too(patron_client, fake_paypal, order):
    patron_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

    response = cancel_at_paypal(patron_client, fake_paypal, order)

    page = patron_client.get(response.url).content.decode()
    assert f"Sie haben die Zahlung {order.reference} abgebrochen." in page


def test_with_paypal_unreachable_the_order_stays_open(patron_client, fake_paypal, order, settings):
    settings.PAYPAL_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = patron_client.get(reverse("payments:cancelled", args=[order.reference]))

    assert response.url == reverse("payments:order", args=[order.reference])
    assert PaymentOrder.objects.get().status == OrderStatus.CREATED_AT_PROVIDER
