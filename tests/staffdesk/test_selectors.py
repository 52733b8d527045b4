"""The desk's reads: what a refund can be paid from, the later orders that paid an order's
fees; and the rule that an underpaid order needs no attention once its fees are paid
(payments.selectors.needs_attention, which the desk's lists and figures are made of)."""

import pytest
from django.utils import timezone

from fees import services as ledger
from payments import services
from payments.models import OrderStatus, PaymentOrder, Refund
from payments.selectors import needs_attention
from staffdesk import selectors
from tests.factories import WaitingRefundFactory
from tests.staffdesk.conftest import make_order, pay_simulated, underpaid

pytestmark = pytest.mark.django_db

Source = Refund.Source


def test_a_refund_of_a_patron_without_credit_can_come_from_the_payment_only(paid_order):
    assert selectors.refund_sources(paid_order) == [Source.PAYMENT]


def test_a_refund_of_a_patron_with_credit_can_come_from_either_credit_first(paid_order):
    ledger.credit_note_book(patron=paid_order.patron, amount_cents=400, note="Goodwill")

    assert selectors.refund_sources(paid_order) == [Source.CREDIT, Source.PAYMENT]


def test_nothing_left_of_the_payment_leaves_only_the_credit(paid_order):
    ledger.credit_note_book(patron=paid_order.patron, amount_cents=400, note="Goodwill")
    WaitingRefundFactory(order=paid_order, amount_cents=800)

    assert selectors.refund_sources(paid_order) == [Source.CREDIT]


def rest_paid_online(order):
    """The patron pays what the underpaid order left of its fees, in a new order."""
    rest = services.order_create(
        patron=order.patron, fee_ids=list(order.order_fees.values_list("fee_id", flat=True))
    )
    services.order_start(order=rest, return_url="https://p/r", cancel_url="https://p/c")
    rest.refresh_from_db()
    return pay_simulated(rest)


def needing_attention(name):
    return PaymentOrder.objects.filter(needs_attention(now=timezone.now())[name])


def test_an_underpaid_order_needs_attention_while_its_fees_are_owed():
    order = underpaid()

    assert list(needing_attention("underpaid")) == [order]


def test_an_underpaid_order_needs_no_attention_once_a_later_order_paid_its_fees():
    order = underpaid()
    rest = rest_paid_online(order)

    assert rest.status == OrderStatus.PAID
    assert not needing_attention("underpaid").exists()


def test_a_later_order_not_paid_leaves_the_underpaid_order_needing_attention():
    order = underpaid()
    rest = services.order_create(
        patron=order.patron, fee_ids=list(order.order_fees.values_list("fee_id", flat=True))
    )

    assert rest.status == OrderStatus.CREATED
    assert list(needing_attention("underpaid")) == [order]


def test_later_orders_for_the_same_fees_are_the_ones_that_paid_them_too():
    order = underpaid()
    other = make_order(patron=order.patron)
    rest = rest_paid_online(order)

    assert list(selectors.later_orders_for_fees(order)) == [rest]
    assert other not in selectors.later_orders_for_fees(order)
