"""The simulated provider refunds as a real one does; a provider without refunds leaves the
desk the counter refund only."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from fees.models import EntryKind, JournalEntry
from payments.models import OrderStatus, Refund, RefundStatus, SimulatedCheckout
from payments.providers.base import ProviderError
from payments.providers.simulated import SimulatedProvider
from payments.services import refunds
from tests.factories import WaitingRefundFactory
from tests.staffdesk.conftest import make_order, pay_simulated

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(db):
    order = pay_simulated(make_order(amount_cents=800))
    assert order.status == OrderStatus.PAID
    return order


def request(order, amount_cents, staff):
    return refunds.refund_request(
        order=order, amount_cents=amount_cents, source=Refund.Source.PAYMENT,
        reason="Charged twice", staff_user=staff,
    )  # fmt: skip


def test_the_simulated_provider_refunds_and_the_journal_books_it(paid_order, staff):
    made = request(paid_order, 300, staff)

    assert made.status == RefundStatus.SUCCEEDED
    assert JournalEntry.objects.get(kind=EntryKind.REFUND).amount_cents == 300
    checkout = SimulatedCheckout.objects.get(transaction_id=paid_order.provider_transaction_id)
    assert [(r["reference"], r["amount_cents"]) for r in checkout.refunds] == [
        (made.reference, 300)
    ]


def test_the_simulated_provider_refuses_more_than_is_left_of_its_payment(paid_order, staff):
    made = WaitingRefundFactory(order=paid_order, amount_cents=900, requested_by=staff)

    made = refunds.refund_send(refund=made)

    assert made.status == RefundStatus.FAILED
    assert not JournalEntry.objects.filter(kind=EntryKind.REFUND).exists()


def test_a_refund_whose_answer_was_lost_is_found_when_asked_again(paid_order, staff, monkeypatch):
    made_there = SimulatedProvider.refund

    def answer_lost(self, refund):
        made_there(self, refund)
        raise ProviderError("connection reset")

    monkeypatch.setattr(SimulatedProvider, "refund", answer_lost)
    made = request(paid_order, 300, staff)
    assert made.status == RefundStatus.REQUESTED
    monkeypatch.undo()

    made = refunds.refund_ask_again(refund=made)

    assert made.status == RefundStatus.SUCCEEDED
    checkout = SimulatedCheckout.objects.get(transaction_id=paid_order.provider_transaction_id)
    assert len(checkout.refunds) == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


def test_an_unpaid_order_has_nothing_to_refund(staff):
    order = make_order()

    with pytest.raises(ValidationError, match="Nothing of this payment is left"):
        request(order, 100, staff)


def test_a_provider_without_refunds_says_so(paid_order, staff, monkeypatch):
    monkeypatch.setattr(SimulatedProvider, "supports_refunds", False)

    availability = refunds.refund_availability(paid_order)
    with pytest.raises(ValidationError, match="refund at the counter"):
        request(paid_order, 100, staff)

    assert not availability.allowed
    assert "cannot refund through the portal" in availability.reason
    assert not Refund.objects.exists()


def test_reconcile_settles_a_refund_left_waiting(paid_order, staff, monkeypatch):
    def unreachable(self, refund):
        raise ProviderError("connection refused")

    monkeypatch.setattr(SimulatedProvider, "refund", unreachable)
    made = request(paid_order, 300, staff)
    monkeypatch.undo()
    Refund.objects.filter(pk=made.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    out = io.StringIO()

    call_command("reconcile", stdout=out)

    made.refresh_from_db()
    assert made.status == RefundStatus.SUCCEEDED
    assert "Checked 1 refunds waiting longer than" in out.getvalue()
