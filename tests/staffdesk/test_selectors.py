"""The desk's reads: what a refund can be paid from, the later orders that paid an order's
fees."""

import pytest

from fees import services as ledger
from payments.models import Refund
from staffdesk import selectors
from tests.factories import WaitingRefundFactory

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
