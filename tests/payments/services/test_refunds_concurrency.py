"""Refund requests racing each other on real threads (PostgreSQL): what goes back never
exceeds what was paid, nor the patron's credit."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from fees import services as ledger
from fees.models import EntryKind, JournalEntry
from payments.models import OrderStatus, Refund, RefundStatus
from payments.services import refunds
from staffdesk.actions import perform
from staffdesk.models import StaffAction
from tests.factories import DeskStaffFactory
from tests.payments.fake_stripe import dispute, event
from tests.payments.helpers import deliver, started_order
from tests.threads import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def paid_through_stripe(fake_stripe, patron=None):
    order = started_order(fake_stripe, patron=patron)
    session = fake_stripe.complete(order.provider_transaction_id)
    assert deliver(Client(), event("checkout.session.completed", session)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def attempt(order, amount_cents, source, staff):
    try:
        return refunds.refund_request(
            order=order, amount_cents=amount_cents, source=source, reason="race",
            staff_user=staff,
        ).status  # fmt: skip
    except ValidationError as error:
        return error.code


def test_concurrent_refunds_of_one_payment_never_exceed_it(fake_stripe):
    order = paid_through_stripe(fake_stripe)  # 500
    staff = DeskStaffFactory()

    results = run_in_threads(4, lambda i: attempt(order, 300, Refund.Source.PAYMENT, staff))

    assert sorted(results) == ["exceeds_payment"] * 3 + [RefundStatus.SUCCEEDED]
    assert len(fake_stripe.refunds) == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


def test_concurrent_refunds_of_credit_to_two_cards_never_exceed_the_credit(fake_stripe):
    first = paid_through_stripe(fake_stripe)
    second = paid_through_stripe(fake_stripe, patron=first.patron)
    ledger.credit_note_book(patron=first.patron, amount_cents=400, note="Goodwill")
    staff = DeskStaffFactory()

    results = run_in_threads(
        2,
        lambda i: attempt([first, second][i], 300, Refund.Source.CREDIT, staff),
    )

    assert sorted(results) == ["exceeds_credit", RefundStatus.SUCCEEDED]
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).get().amount_cents == 300


def test_the_same_refund_webhook_delivered_at_once_books_once(fake_stripe):
    order = paid_through_stripe(fake_stripe)
    fake_stripe.refund_outcome = "pending"
    refund = refunds.refund_request(
        order=order, amount_cents=200, source=Refund.Source.PAYMENT, reason="race",
        staff_user=DeskStaffFactory(),
    )  # fmt: skip
    payload = event(
        "refund.updated", fake_stripe.set_refund_status(refund.provider_refund_id, "succeeded")
    )

    statuses = run_in_threads(4, lambda i: deliver(Client(), payload).status_code)

    assert statuses == [200] * 4
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1
    assert refund.events.count() == 2


def test_the_refund_form_sent_twice_at_once_refunds_once(fake_stripe):
    order = paid_through_stripe(fake_stripe)
    staff = DeskStaffFactory()
    submission = uuid.uuid4()

    actions = run_in_threads(
        2,
        lambda i: perform(
            StaffAction.Kind.REFUND_TO_CARD, order, amount_cents=200,
            source=Refund.Source.PAYMENT, reason="race", staff_user=staff, submission=submission,
        ).pk,
    )  # fmt: skip

    assert actions[0] == actions[1]
    assert Refund.objects.count() == 1
    assert len(fake_stripe.refunds) == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


def test_a_refund_racing_a_chargeback_never_pays_out_more_than_the_payment(fake_stripe):
    order = paid_through_stripe(fake_stripe)  # 500
    staff = DeskStaffFactory()
    chargeback = event("charge.dispute.created", dispute(order.provider_payment_id, amount=500))

    run_in_threads(
        2,
        lambda i: (
            attempt(order, 500, Refund.Source.PAYMENT, staff)
            if i == 0
            else deliver(Client(), chargeback).status_code
        ),
    )

    refunded = sum(
        Refund.objects.filter(order=order, status=RefundStatus.SUCCEEDED).values_list(
            "amount_cents", flat=True
        )
    )
    reversed_ = sum(
        JournalEntry.objects.filter(kind=EntryKind.REVERSAL).values_list("amount_cents", flat=True)
    )
    assert refunded + reversed_ <= 500
    assert refunded + reversed_ == 500  # one of the two took all of it
