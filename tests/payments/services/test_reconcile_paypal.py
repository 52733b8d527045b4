"""The reconcile job with PayPal: it asks PayPal about open orders (an approved one is
captured and booked) and about refunds still waiting for PayPal's word."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.services import refunds
from tests.factories import FeeFactory

pytestmark = pytest.mark.django_db


def an_hour_ago():
    return timezone.now() - datetime.timedelta(hours=1)


@pytest.fixture
def approved(fake_paypal):
    """A 5.00 order approved at PayPal an hour ago; the patron never came back."""
    fee = FeeFactory(amount_cents=500)
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
    services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    PaymentOrder.objects.filter(pk=order.pk).update(created_at=an_hour_ago())
    order.refresh_from_db()
    fake_paypal.approve(order.provider_transaction_id)
    return order


def test_reconcile_captures_an_approved_order_and_books_it(approved, fake_paypal):
    call_command("reconcile", stdout=io.StringIO())

    approved.refresh_from_db()
    assert approved.status == OrderStatus.PAID
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1


def test_reconcile_books_a_refund_paypal_has_completed_since(approved, fake_paypal, staff):
    call_command("reconcile", stdout=io.StringIO())
    approved.refresh_from_db()
    fake_paypal.refund_outcome = "PENDING"
    refund = refunds.refund_request(
        order=approved, amount_cents=200, source=Refund.Source.PAYMENT, reason="Found",
        staff_user=staff,
    )  # fmt: skip
    Refund.objects.filter(pk=refund.pk).update(created_at=an_hour_ago())
    fake_paypal.refunds[refund.provider_refund_id]["status"] = "COMPLETED"

    call_command("reconcile", stdout=io.StringIO())

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1
