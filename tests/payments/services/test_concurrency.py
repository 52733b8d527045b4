"""Concurrent deliveries, racing pages and double clicks, on real threads."""

import pytest
from django.test import Client
from django.urls import reverse

from fees.models import EntryKind, JournalEntry
from payments.models import OrderStatus, PaymentOrder
from tests.factories import FeeFactory, OwnerFactory, PatronFactory
from tests.payments.fake_stripe import event
from tests.payments.helpers import deliver, started_order
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK = reverse("payments:webhook", args=["stripe"])


def test_same_event_eight_times_at_once_books_one_payment(fake_stripe):
    order = started_order(fake_stripe)
    session = fake_stripe.complete(order.provider_transaction_id)
    payload = event("checkout.session.completed", session)

    statuses = run_in_threads(8, lambda i: deliver(Client(), payload).status_code)

    assert statuses == [200] * 8
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert order.events.filter(status="Paid").count() == 1


def test_a_branchs_event_eight_times_at_once_books_one_payment_to_the_branch(
    fake_stripe, monkeypatch
):
    monkeypatch.setenv("NORTH_STRIPE_KEY", "sk_test_51North")
    monkeypatch.setenv("NORTH_STRIPE_WEBHOOK", "whsec_north_0123456789abcdef")
    north = OwnerFactory(
        code="NORTH",
        stripe_secret_key_env="NORTH_STRIPE_KEY",
        stripe_webhook_secret_env="NORTH_STRIPE_WEBHOOK",
    )
    order = started_order(fake_stripe, owner=north)
    payload = event(
        "checkout.session.completed", fake_stripe.complete(order.provider_transaction_id)
    )

    statuses = run_in_threads(
        8, lambda i: deliver(Client(), payload, secret="whsec_north_0123456789abcdef").status_code
    )

    assert statuses == [200] * 8
    (payment,) = JournalEntry.objects.filter(kind=EntryKind.PAYMENT)
    assert payment.owner == north


def test_return_page_racing_the_webhook_never_books_twice(fake_stripe):
    rounds, problems = 50, []
    for _ in range(rounds):
        order = started_order(fake_stripe)
        session = fake_stripe.complete(order.provider_transaction_id)
        payload = event("checkout.session.completed", session)
        patron_client = Client()
        patron_client.force_login(order.patron.user)
        page = reverse("payments:order", args=[order.reference])

        codes = run_in_threads(
            2,
            lambda i: (deliver(Client(), payload) if i else patron_client.get(page)).status_code,  # noqa: B023
        )

        booked = JournalEntry.objects.filter(reference=order.reference).count()
        if codes != [200, 200] or booked != 1:
            problems.append((order.reference, codes, booked))

    assert problems == []
    assert PaymentOrder.objects.filter(status=OrderStatus.PAID).count() == rounds


def test_double_click_on_pay_makes_one_order(fake_stripe):
    patron = PatronFactory()
    fees = [FeeFactory(patron=patron, amount_cents=500) for _ in range(2)]
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(patron.user)

    responses = run_in_threads(
        2,
        lambda i: clients[i].post(reverse("payments:pay"), {"fee": [f.pk for f in fees]}),
    )

    assert sorted(r.status_code for r in responses) == [200, 302]
    assert PaymentOrder.objects.count() == 1
    refused = next(r for r in responses if r.status_code == 200)
    assert "already in a payment" in refused.content.decode()
