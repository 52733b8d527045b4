"""Refunds through PayPal, against the fake PayPal: POST /v2/payments/captures/{id}/refund
with the refund's own request id, through the portal's refund records and limits, and
PayPal's signed PAYMENT.CAPTURE.REFUNDED / REVERSED webhooks."""

import pytest
from django.core.exceptions import ValidationError

from fees.models import EntryKind, JournalEntry
from payments.models import OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.services import refunds
from tests.payments.helpers import start_payment
from tests.payments.paypal.helpers import come_back, deliver
from tests.payments.paypal.signing import event

pytestmark = pytest.mark.django_db

REFUNDS = r"/v2/payments/captures/[^/]+/refund"


@pytest.fixture
def paid_order(patron_client, fees, fake_paypal):
    """5.00 paid through PayPal for the first fee: approved, and captured on return."""
    start_payment(patron_client, fees[0])
    order = PaymentOrder.objects.get()
    fake_paypal.approve(order.provider_transaction_id)
    come_back(patron_client, order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


@pytest.fixture
def refund(paid_order, staff):
    def make(amount_cents):
        return refunds.refund_request(
            order=paid_order,
            amount_cents=amount_cents,
            source=Refund.Source.PAYMENT,
            reason="Item found",
            staff_user=staff,
        )

    return make


def refund_entries():
    return JournalEntry.objects.filter(kind=EntryKind.REFUND)


def test_a_completed_refund_is_booked_in_the_journal(refund):
    made = refund(200)

    assert made.status == RefundStatus.SUCCEEDED
    assert refund_entries().get().amount_cents == 200


def test_the_refund_goes_to_the_capture_with_our_reference_and_request_id(
    refund, paid_order, fake_paypal
):
    made = refund(200)

    (sent,) = fake_paypal.sent("POST", REFUNDS)
    assert sent.path == f"/v2/payments/captures/{paid_order.provider_payment_id}/refund"
    assert sent.json()["amount"] == {"currency_code": "EUR", "value": "2.00"}
    assert sent.json()["custom_id"] == made.reference
    assert sent.headers["paypal-request-id"] == f"epayment-refund-{made.reference}"
    assert made.provider_refund_id == next(iter(fake_paypal.refunds))


def test_sending_a_refund_again_refunds_once(refund, fake_paypal):
    made = refund(200)

    refunds.refund_send(refund=made)

    assert len(fake_paypal.refunds) == 1
    assert refund_entries().count() == 1


def test_more_than_was_paid_is_refused_before_paypal_is_asked(refund, fake_paypal):
    with pytest.raises(ValidationError):
        refund(600)

    assert fake_paypal.sent("POST", REFUNDS) == []


def test_a_refund_paypal_refuses_fails_and_frees_its_amount(refund, fake_paypal, paid_order):
    fake_paypal.refunds["earlier"] = {
        "id": "earlier",
        "status": "COMPLETED",
        "amount": {"currency_code": "EUR", "value": "4.00"},
        "_capture": paid_order.provider_payment_id,
    }  # refunded at PayPal's dashboard meanwhile

    made = refund(200)

    assert made.status == RefundStatus.FAILED
    assert "REFUND_AMOUNT_EXCEEDED" in made.failure
    assert refunds.refundable_cents(paid_order) == 500


def test_a_pending_refund_is_booked_when_its_webhook_says_completed(client, refund, fake_paypal):
    fake_paypal.refund_outcome = "PENDING"
    made = refund(200)
    assert made.status == RefundStatus.REQUESTED
    fake_paypal.refunds[made.provider_refund_id]["status"] = "COMPLETED"
    resource = fake_paypal.refund_answer(made.provider_refund_id)

    response = deliver(
        client, fake_paypal, event("PAYMENT.CAPTURE.REFUNDED", resource, resource_type="refund")
    )

    made.refresh_from_db()
    assert response.status_code == 200
    assert made.status == RefundStatus.SUCCEEDED
    assert refund_entries().count() == 1


def test_asking_again_reads_the_refund_from_paypal(refund, fake_paypal):
    fake_paypal.refund_outcome = "PENDING"
    made = refund(200)
    fake_paypal.refunds[made.provider_refund_id]["status"] = "COMPLETED"

    refunds.refund_ask_again(refund=made)

    made.refresh_from_db()
    assert made.status == RefundStatus.SUCCEEDED
    assert len(fake_paypal.sent("GET", r"/v2/payments/refunds/[^/]+")) == 1


def test_a_reversed_capture_takes_the_payment_back(client, paid_order, fake_paypal):
    reversal = {
        "id": "1X2Y3Z4A5B6C7D8E9",
        "status": "COMPLETED",
        "amount": {"currency_code": "EUR", "value": "5.00"},
        "links": [
            {
                "href": f"{fake_paypal.url}/v2/payments/captures/{paid_order.provider_payment_id}",
                "rel": "up",
                "method": "GET",
            }
        ],
    }

    deliver(
        client, fake_paypal, event("PAYMENT.CAPTURE.REVERSED", reversal, resource_type="refund")
    )

    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.CHARGEBACK
    assert JournalEntry.objects.get(kind=EntryKind.REVERSAL).amount_cents == 500
