"""Capturing an approved PayPal order: on the patron's return, on PayPal's webhooks, in
either order, booked once through payment_order_transition."""

from urllib.parse import urlsplit

import pytest
import requests

from fees.models import EntryKind, JournalEntry
from payments.models import MoneyReport, OrderStatus, PaymentOrder
from tests.payments.helpers import start_payment
from tests.payments.paypal.helpers import come_back, deliver
from tests.payments.paypal.signing import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(patron_client, fees, fake_paypal):
    """The 5.00 order for the first fee, started at (the fake) PayPal."""
    start_payment(patron_client, fees[0])
    return PaymentOrder.objects.get()


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def approved_event(fake_paypal, order):
    paypal_order = dict(fake_paypal.orders[order.provider_transaction_id])
    paypal_order.pop("_context")
    return event("CHECKOUT.ORDER.APPROVED", paypal_order, resource_type="checkout-order")


def capture_event(fake_paypal, order, kind="PAYMENT.CAPTURE.COMPLETED"):
    return event(kind, fake_paypal.capture_of(order.provider_transaction_id))


def test_coming_back_after_approving_captures_and_books_the_payment(
    patron_client, order, fake_paypal
):
    fake_paypal.approve(order.provider_transaction_id)

    come_back(patron_client, order)

    order.refresh_from_db()
    capture = fake_paypal.capture_of(order.provider_transaction_id)
    assert order.status == OrderStatus.PAID
    assert order.provider_payment_id == capture["id"]
    assert order.payment_entry.amount_cents == -500
    assert order.payment_method == "paypal"
    assert fake_paypal.violations == []


def test_the_capture_is_asked_for_with_a_request_id_of_the_paypal_order(
    patron_client, order, fake_paypal
):
    fake_paypal.approve(order.provider_transaction_id)

    come_back(patron_client, order)

    (request,) = fake_paypal.sent("POST", r"/v2/checkout/orders/[^/]+/capture")
    assert (
        request.headers["paypal-request-id"] == f"epayment-capture-{order.provider_transaction_id}"
    )


def test_coming_back_before_approving_leaves_the_order_waiting(patron_client, order, fake_paypal):
    come_back(patron_client, order)

    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert fake_paypal.sent("POST", r"/v2/checkout/orders/[^/]+/capture") == []


def test_return_then_webhook_books_once(client, patron_client, order, fake_paypal):
    fake_paypal.approve(order.provider_transaction_id)
    come_back(patron_client, order)

    response = deliver(client, fake_paypal, capture_event(fake_paypal, order))

    assert response.status_code == 200
    assert payments().count() == 1
    assert MoneyReport.objects.count() == 1


def test_approved_webhook_captures_and_books(client, order, fake_paypal):
    fake_paypal.approve(order.provider_transaction_id)

    response = deliver(client, fake_paypal, approved_event(fake_paypal, order))

    order.refresh_from_db()
    assert response.status_code == 200
    assert order.status == OrderStatus.PAID
    assert payments().count() == 1


def test_webhook_then_return_books_once(client, patron_client, order, fake_paypal):
    fake_paypal.approve(order.provider_transaction_id)
    deliver(client, fake_paypal, approved_event(fake_paypal, order))

    come_back(patron_client, order)
    deliver(client, fake_paypal, capture_event(fake_paypal, order))

    assert payments().count() == 1
    assert len(fake_paypal.captures) == 1


def test_capturing_twice_gets_the_same_capture(client, order, fake_paypal):
    from payments.providers import order_provider

    fake_paypal.approve(order.provider_transaction_id)
    provider = order_provider(order)

    first = provider._capture(order.provider_transaction_id)
    again = provider._capture(order.provider_transaction_id)

    assert first.payment_id == again.payment_id
    assert len(fake_paypal.captures) == 1


def test_an_approval_for_an_order_given_up_is_not_captured(client, order, fake_paypal):
    PaymentOrder.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED)
    fake_paypal.approve(order.provider_transaction_id)

    response = deliver(client, fake_paypal, approved_event(fake_paypal, order))

    assert response.status_code == 200
    assert fake_paypal.captures == {}


def test_a_declined_capture_fails_the_order(patron_client, order, fake_paypal):
    fake_paypal.capture_outcome = "DECLINED"
    fake_paypal.approve(order.provider_transaction_id)

    come_back(patron_client, order)

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert not payments().exists()


def test_a_denied_capture_webhook_fails_the_order(client, patron_client, order, fake_paypal):
    fake_paypal.capture_outcome = "PENDING"
    fake_paypal.approve(order.provider_transaction_id)
    come_back(patron_client, order)
    capture = fake_paypal.capture_of(order.provider_transaction_id)
    fake_paypal.set_capture_status(capture["id"], "DECLINED")

    deliver(client, fake_paypal, capture_event(fake_paypal, order, "PAYMENT.CAPTURE.DENIED"))

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert not payments().exists()


def test_a_pending_capture_leaves_the_order_waiting(client, patron_client, order, fake_paypal):
    fake_paypal.capture_outcome = "PENDING"
    fake_paypal.approve(order.provider_transaction_id)

    come_back(patron_client, order)
    deliver(client, fake_paypal, capture_event(fake_paypal, order, "PAYMENT.CAPTURE.PENDING"))

    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert not payments().exists()


def test_pending_then_completed_books_the_payment(client, patron_client, order, fake_paypal):
    fake_paypal.capture_outcome = "PENDING"
    fake_paypal.approve(order.provider_transaction_id)
    come_back(patron_client, order)
    capture = fake_paypal.capture_of(order.provider_transaction_id)
    fake_paypal.set_capture_status(capture["id"], "COMPLETED")

    deliver(client, fake_paypal, capture_event(fake_paypal, order))

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payments().count() == 1


def test_a_completed_capture_delivered_twice_books_once(client, patron_client, order, fake_paypal):
    fake_paypal.approve(order.provider_transaction_id)
    come_back(patron_client, order)
    payload = capture_event(fake_paypal, order)

    deliver(client, fake_paypal, payload)
    deliver(client, fake_paypal, payload)

    assert payments().count() == 1


def test_a_dispute_after_payment_is_a_chargeback(client, patron_client, order, fake_paypal):
    fake_paypal.approve(order.provider_transaction_id)
    come_back(patron_client, order)
    order.refresh_from_db()
    dispute = {
        "dispute_id": "PP-D-27803",
        "create_time": "2026-12-04T10:00:00.000Z",
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": "OPEN",
        "dispute_amount": {"currency_code": "EUR", "value": "5.00"},
        "disputed_transactions": [{"seller_transaction_id": order.provider_payment_id}],
    }

    response = deliver(
        client, fake_paypal, event("CUSTOMER.DISPUTE.CREATED", dispute, resource_type="dispute")
    )

    order.refresh_from_db()
    assert response.status_code == 200
    assert order.status == OrderStatus.CHARGEBACK
    reversal = JournalEntry.objects.get(kind=EntryKind.REVERSAL)
    assert reversal.amount_cents == 500


def test_the_reconcile_job_captures_an_order_approved_but_never_returned(order, fake_paypal):
    from payments import services

    fake_paypal.approve(order.provider_transaction_id)

    services.order_refresh(order=order)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_approving_on_paypals_page_sends_the_patron_back_to_be_booked(
    patron_client, order, fake_paypal
):
    page = requests.get(f"{fake_paypal.url}/checkoutnow", {"token": order.provider_transaction_id})
    approved = requests.post(
        f"{fake_paypal.url}/checkoutnow?token={order.provider_transaction_id}",
        data={"action": "approve"},
        allow_redirects=False,
    )

    assert page.status_code == 200
    back = approved.headers["Location"]
    assert f"/orders/{order.reference}/?token={order.provider_transaction_id}" in back
    parts = urlsplit(back)
    patron_client.get(f"{parts.path}?{parts.query}")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
