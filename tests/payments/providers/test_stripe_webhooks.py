"""Stripe webhooks: signature checks, each event type, and every ordering of the session events."""

import itertools
import logging
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fees import services as ledger
from fees.models import EntryKind, JournalEntry
from payments import services
from payments.labels import event_text
from payments.models import OrderStatus, PaymentEvent, PaymentOrder
from tests.factories import FeeFactory
from tests.payments.fake_stripe import dispute, event
from tests.payments.helpers import deliver

pytestmark = pytest.mark.django_db

URL = reverse("payments:webhook", args=["stripe"])


@pytest.fixture
def order(fake_stripe, order):
    """The order for the first fee, started at (the fake) Stripe."""
    return order


@pytest.fixture
def session(order, fake_stripe):
    return fake_stripe.session_for(order.reference)


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def test_completed_and_paid_books_the_payment(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"], payment_intent="pi_123")

    response = deliver(client, event("checkout.session.completed", session))

    order.refresh_from_db()
    assert response.status_code == 200
    assert order.status == OrderStatus.PAID
    assert order.payment_entry.amount_cents == -500
    assert order.provider_payment_id == "pi_123"
    assert order.events.last().source == "provider"


def test_payment_method_type_is_recorded(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"])
    session["payment_method_types"] = ["sepa_debit"]

    deliver(client, event("checkout.session.completed", session))

    order.refresh_from_db()
    assert order.payment_method == "sepa_debit"
    assert order.events.last().payment_method == "sepa_debit"


def test_payment_method_is_unknown_when_stripe_names_none(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"])
    session["payment_method_types"] = ["card", "paypal"]

    deliver(client, event("checkout.session.completed", session))

    assert order.events.last().payment_method == "Unknown"


def test_completed_but_unpaid_waits_for_the_async_result(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"], paid=False)

    deliver(client, event("checkout.session.completed", session))
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert not payments().exists()

    session["payment_status"] = "paid"
    deliver(client, event("checkout.session.async_payment_succeeded", session))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payments().count() == 1


def test_async_payment_failed_fails_the_order(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"], paid=False)

    deliver(client, event("checkout.session.async_payment_failed", session))

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert not payments().exists()


def test_expired_session_fails_the_order_and_frees_the_fees(client, order, session):
    session["status"] = "expired"

    deliver(client, event("checkout.session.expired", session))

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert not order.order_fees.filter(reserved=True).exists()


def test_less_than_ordered_is_underpaid_and_books_what_arrived(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"], amount=300)

    deliver(client, event("checkout.session.completed", session))

    order.refresh_from_db()
    assert order.status == OrderStatus.UNDERPAID
    assert order.payment_entry.amount_cents == -300


def test_other_currency_is_underpaid_and_books_nothing(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"])
    session["currency"] = "usd"

    deliver(client, event("checkout.session.completed", session))

    order.refresh_from_db()
    assert order.status == OrderStatus.UNDERPAID
    assert order.payment_entry is None
    assert "Received 5.00 USD; the order is in EUR" in event_text(order.events.last())


def test_dispute_reverses_the_payment(client, order, session, fake_stripe, patron):
    fake_stripe.complete(session["id"], payment_intent="pi_disputed")
    deliver(client, event("checkout.session.completed", session))

    deliver(client, event("charge.dispute.created", dispute("pi_disputed")))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGEBACK
    reversal = JournalEntry.objects.get(kind=EntryKind.REVERSAL)
    assert (reversal.amount_cents, reversal.target) == (500, order.payment_entry)


def test_event_about_an_unknown_session_is_acknowledged_and_logged(client, order, caplog):
    stranger = {"id": "cs_test_unknown", "object": "checkout.session", "client_reference_id": None,
                "payment_status": "paid", "status": "complete", "amount_total": 500,
                "currency": "eur", "metadata": {}, "payment_intent": "pi_x"}  # fmt: skip

    with caplog.at_level(logging.WARNING):
        response = deliver(client, event("checkout.session.completed", stranger))

    assert response.status_code == 200
    assert "unknown payment" in caplog.text
    assert not payments().exists()


def test_event_types_we_do_not_handle_are_acknowledged(client, order):
    response = deliver(client, event("customer.created", {"id": "cus_1", "object": "customer"}))

    assert response.status_code == 200
    assert order.events.count() == 2


@pytest.mark.parametrize(
    "forgery",
    ["wrong secret", "tampered body", "missing header", "stale timestamp", "future timestamp"],
)
def test_forged_or_stale_deliveries_are_refused_and_change_nothing(
    client, order, session, fake_stripe, forgery
):
    fake_stripe.complete(session["id"])
    now = int(time.time())
    kwargs = {
        "wrong secret": {"secret": "whsec_somebody_else"},
        "tampered body": {"tamper": True},
        "missing header": {"header": False},
        "stale timestamp": {"timestamp": now - 301},
        "future timestamp": {"timestamp": now + 301},
    }[forgery]
    events_before = PaymentEvent.objects.count()

    response = deliver(client, event("checkout.session.completed", session), **kwargs)

    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert PaymentEvent.objects.count() == events_before
    assert not payments().exists()


def test_webhook_needs_no_csrf_token_but_only_accepts_post(order, session):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    assert deliver(client, event("checkout.session.expired", session)).status_code == 200
    assert client.get(URL).status_code == 405


def test_stripe_webhook_is_not_found_without_stripe_keys(client, settings):
    settings.STRIPE_SECRET_KEY = ""

    assert client.post(URL, b"{}", content_type="application/json").status_code == 404


def test_same_event_delivered_again_books_once(client, order, session, fake_stripe):
    fake_stripe.complete(session["id"])
    payload = event("checkout.session.completed", session)

    for _ in range(3):
        assert deliver(client, payload).status_code == 200

    assert payments().count() == 1
    assert order.events.filter(status="Paid").count() == 1


PAID = {"status": "complete", "payment_status": "paid"}
UNPAID = {"status": "complete", "payment_status": "unpaid"}
SESSION_EVENTS = {
    "completed-paid": ("checkout.session.completed", PAID),
    "completed-unpaid": ("checkout.session.completed", UNPAID),
    "async-succeeded": ("checkout.session.async_payment_succeeded", PAID),
    "async-failed": ("checkout.session.async_payment_failed", UNPAID),
    "expired": ("checkout.session.expired", {"status": "expired", "payment_status": "unpaid"}),
}


def expected_end(names):
    """Money received wins; otherwise any failure fails it; otherwise it keeps waiting."""
    if {"completed-paid", "async-succeeded"} & set(names):
        return OrderStatus.PAID, 1
    if {"async-failed", "expired"} & set(names):
        return OrderStatus.FAILED, 0
    return OrderStatus.CREATED_AT_PROVIDER, 0


ORDERINGS = [
    ordering
    for size in range(1, len(SESSION_EVENTS) + 1)
    for ordering in itertools.permutations(SESSION_EVENTS, size)
]


def test_every_ordering_of_the_session_events_ends_in_the_right_state(fake_stripe, client):
    wrong = []
    for ordering in ORDERINGS:
        fee = FeeFactory(amount_cents=500)
        order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
        services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
        session = fake_stripe.session_for(order.reference)
        session["payment_intent"] = f"pi_{order.reference}"
        for name in ordering:
            event_type, state = SESSION_EVENTS[name]
            deliver(client, event(event_type, {**session, **state}))
        order.refresh_from_db()
        got = (order.status, JournalEntry.objects.filter(reference=order.reference).count())
        if got != expected_end(ordering):
            wrong.append((ordering, got))

    assert len(ORDERINGS) == 325
    assert wrong == []


def test_booking_webhook_query_count_does_not_grow_with_fees_or_history(
    client, patron, patron_client, fake_stripe
):
    def queries_to_confirm(fee_count):
        for _ in range(fee_count):  # history: fees paid at the counter
            paid = FeeFactory(patron=patron, amount_cents=100)
            ledger.payment_book(patron=patron, amount_cents=100, for_fees=[paid], method="cash")
        fees = [FeeFactory(patron=patron, amount_cents=100) for _ in range(fee_count)]
        patron_client.post(reverse("payments:pay"), {"fee": [fee.pk for fee in fees]})
        order = PaymentOrder.objects.get(patron=patron, status=OrderStatus.CREATED_AT_PROVIDER)
        assert order.order_fees.count() == fee_count
        session = fake_stripe.session_for(order.reference)
        fake_stripe.complete(session["id"], payment_intent=f"pi_{fee_count}")
        with CaptureQueriesContext(connection) as captured:
            response = deliver(client, event("checkout.session.completed", session))
        order.refresh_from_db()
        assert response.status_code == 200 and order.status == OrderStatus.PAID
        return len(captured.captured_queries)

    assert queries_to_confirm(1) == queries_to_confirm(12)
