"""PayPal on real threads (PostgreSQL): the patron's return and PayPal's webhook capturing
one order at the same moment book one capture; refunds at once never exceed the payment."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import MoneyReport, OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.services import refunds
from tests.factories import DeskStaffFactory, FeeFactory
from tests.payments.paypal.helpers import deliver
from tests.payments.paypal.signing import event
from tests.threads import run_in_threads, run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


@pytest.fixture
def approved(fake_paypal):
    """A 5.00 order started at (the fake) PayPal and approved there by the patron."""
    fee = FeeFactory(amount_cents=500)
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
    services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    order.refresh_from_db()
    paypal_order = dict(fake_paypal.approve(order.provider_transaction_id))
    paypal_order.pop("_context")
    return order, event("CHECKOUT.ORDER.APPROVED", paypal_order, resource_type="checkout-order")


def test_return_and_webhook_at_once_book_one_capture(approved, fake_paypal):
    order, approval = approved

    results = run_together(
        lambda: services.order_refresh(order=PaymentOrder.objects.get(pk=order.pk)).status,
        lambda: deliver(Client(), fake_paypal, approval).status_code,
        lambda: services.order_refresh(order=PaymentOrder.objects.get(pk=order.pk)).status,
    )

    order.refresh_from_db()
    assert results[1] == 200
    assert order.status == OrderStatus.PAID
    assert len(fake_paypal.captures) == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert MoneyReport.objects.count() == 1


def test_refunds_of_one_paypal_payment_at_once_never_exceed_it(approved, fake_paypal):
    order, _approval = approved
    services.order_refresh(order=order)  # the patron is back: captured, 5.00 paid
    staff = DeskStaffFactory()

    def attempt(_index):
        try:
            return refunds.refund_request(
                order=PaymentOrder.objects.get(pk=order.pk), amount_cents=300,
                source=Refund.Source.PAYMENT, reason="race", staff_user=staff,
            ).status  # fmt: skip
        except ValidationError as error:
            return error.code

    results = run_in_threads(4, attempt)

    assert sorted(results) == ["exceeds_payment"] * 3 + [RefundStatus.SUCCEEDED]
    assert len(fake_paypal.refunds) == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).get().amount_cents == 300


def test_the_approval_delivered_four_times_at_once_books_one_capture(approved, fake_paypal):
    order, approval = approved

    # Four transmissions of the same event, as PayPal retries it: each signed afresh.
    statuses = run_in_threads(4, lambda _i: deliver(Client(), fake_paypal, approval).status_code)

    assert statuses == [200] * 4
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len(fake_paypal.captures) == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
