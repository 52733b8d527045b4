"""The simulated provider's callbacks: signed like a real provider's, checked the same way."""

import json
import time

import pytest
from django.urls import reverse

from fees.models import JournalEntry
from payments import services
from payments.models import OrderStatus, SimulatedCheckout
from payments.providers import get_provider, order_provider
from payments.providers.simulated import SIGNATURE_HEADER
from tests.factories import FeeFactory, OwnerFactory

pytestmark = pytest.mark.django_db

URL = reverse("payments:webhook", args=["simulated"])


def paid_body(order):
    return json.dumps(
        {
            "status": "Paid",
            "transaction_id": order.provider_transaction_id,
            "order_reference": order.reference,
            "event_id": "simevt_1",
            "amount_cents": 500,
            "currency": "EUR",
            "payment_method": "card",
        }
    ).encode()


def post(client, body, signature):
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_signed_callback_books_the_payment(client, order):
    body = paid_body(order)

    response = post(client, body, get_provider("simulated").sign(body))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.payment_entry.amount_cents == -500


@pytest.mark.parametrize("forgery", ["other key", "tampered", "missing", "stale", "future"])
def test_forged_or_stale_callbacks_are_refused(client, order, forgery):
    provider = get_provider("simulated")
    body = paid_body(order)
    now = int(time.time())
    signature = {
        "other key": provider.sign(body).split("v1=")[0] + "v1=" + "0" * 64,
        "tampered": provider.sign(body.replace(b"500", b"5")),
        "missing": None,
        "stale": provider.sign(body, timestamp=now - 301),
        "future": provider.sign(body, timestamp=now + 301),
    }[forgery]

    response = post(client, body, signature)

    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert not JournalEntry.objects.filter(kind="payment").exists()


def test_simulated_webhook_does_not_exist_in_live_mode(client, order, settings):
    settings.PAYMENT_MODE = "live"
    body = paid_body(order)

    assert post(client, body, "t=1,v1=00").status_code == 404


@pytest.fixture
def north_order(patron):
    """A branch's order, started at the branch's own simulated merchant."""
    fee = FeeFactory(patron=patron, amount_cents=500, owner=OwnerFactory(code="NORTH"))
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    order.refresh_from_db()
    return order


def test_a_branchs_checkout_is_taken_by_the_branchs_merchant(north_order):
    checkout = SimulatedCheckout.objects.get(transaction_id=north_order.provider_transaction_id)

    assert checkout.merchant == "NORTH"


def test_another_merchant_knows_nothing_of_a_branchs_checkout(north_order):
    SimulatedCheckout.objects.update(outcome=SimulatedCheckout.Outcome.PAID, paid_cents=500)
    portal = get_provider("simulated")

    assert portal.fetch(north_order) is None
    assert order_provider(north_order).fetch(north_order).status == OrderStatus.PAID


def test_a_callback_signed_by_another_merchant_books_nothing(client, north_order):
    body = paid_body(north_order)

    response = post(client, body, get_provider("simulated").sign(body))

    north_order.refresh_from_db()
    assert response.status_code == 200
    assert north_order.status == OrderStatus.CREATED_AT_PROVIDER
    assert not JournalEntry.objects.filter(kind="payment").exists()


def test_a_callback_signed_by_the_branchs_merchant_is_booked(client, north_order):
    body = paid_body(north_order)

    post(client, body, order_provider(north_order).sign(body))

    north_order.refresh_from_db()
    assert north_order.status == OrderStatus.PAID
