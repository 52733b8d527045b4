"""Each owner's merchant account (payments.providers: get_provider, order_provider,
provider_accounts): an owner's orders are opened, refunded and confirmed with its own
Stripe keys, and a webhook is believed only for the orders of the account that signed it."""

import pytest

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import OrderStatus, Refund
from payments.services.refunds import refund_request
from tests.factories import FeeFactory, OwnerFactory
from tests.payments.fake_stripe import event
from tests.payments.helpers import deliver

pytestmark = pytest.mark.django_db

NORTH_WEBHOOK_SECRET = "whsec_north_0123456789abcdef"


@pytest.fixture
def north(monkeypatch):
    """A branch with its own Stripe account: its keys are in the environment."""
    monkeypatch.setenv("NORTH_STRIPE_KEY", "sk_test_51North")
    monkeypatch.setenv("NORTH_STRIPE_WEBHOOK", NORTH_WEBHOOK_SECRET)
    return OwnerFactory(
        code="NORTH",
        stripe_secret_key_env="NORTH_STRIPE_KEY",
        stripe_webhook_secret_env="NORTH_STRIPE_WEBHOOK",
    )


@pytest.fixture
def north_order(fake_stripe, north, patron):
    fee = FeeFactory(patron=patron, amount_cents=500, owner=north)
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    order.refresh_from_db()
    return order


@pytest.fixture
def north_paid(client, fake_stripe, north_order):
    """The branch's order, paid: Stripe's webhook signed by the branch's account."""
    deliver(client, paid_event(fake_stripe, north_order), secret=NORTH_WEBHOOK_SECRET)
    north_order.refresh_from_db()
    return north_order


def paid_event(fake_stripe, order):
    session = fake_stripe.complete(order.provider_transaction_id, payment_intent="pi_north")
    return event("checkout.session.completed", session)


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def test_an_owners_checkout_is_opened_with_its_own_key(fake_stripe, north_order):
    (opened,) = [r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions"]

    assert opened["headers"]["Authorization"] == "Bearer sk_test_51North"


def test_a_webhook_signed_by_another_owners_account_books_nothing(client, fake_stripe, north_order):
    # Signed with the portal's (the default owner's) webhook secret.
    response = deliver(client, paid_event(fake_stripe, north_order))

    north_order.refresh_from_db()
    assert response.status_code == 200
    assert north_order.status == OrderStatus.CREATED_AT_PROVIDER
    assert not payments().exists()


def test_a_webhook_signed_by_the_owners_account_is_booked_once(client, fake_stripe, north_order):
    payload = paid_event(fake_stripe, north_order)

    deliver(client, payload, secret=NORTH_WEBHOOK_SECRET)
    deliver(client, payload, secret=NORTH_WEBHOOK_SECRET)

    north_order.refresh_from_db()
    assert north_order.status == OrderStatus.PAID
    assert payments().count() == 1


def test_a_signature_that_fits_no_owners_account_is_refused(client, fake_stripe, north_order):
    response = deliver(client, paid_event(fake_stripe, north_order), secret="whsec_nobody_012345")

    assert response.status_code == 400
    assert not payments().exists()


def test_an_owners_refund_goes_through_its_own_account(fake_stripe, north_paid, staff):
    refund_request(
        order=north_paid, amount_cents=200, source=Refund.Source.PAYMENT,
        reason="Charged twice", staff_user=staff,
    )  # fmt: skip

    (sent,) = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    assert sent["headers"]["Authorization"] == "Bearer sk_test_51North"


def test_an_owner_whose_key_is_missing_leaves_the_other_accounts_working(
    client, fake_stripe, order, monkeypatch
):
    OwnerFactory(code="SOUTH", stripe_webhook_secret_env="SOUTH_UNSET_WEBHOOK")
    session = fake_stripe.complete(order.provider_transaction_id)

    response = deliver(client, event("checkout.session.completed", session))

    order.refresh_from_db()
    assert response.status_code == 200
    assert order.status == OrderStatus.PAID


# The journal keeps whose account the money reached, went back from, or was refunded from.


def test_an_owners_online_payment_is_booked_as_that_owners(north_paid, north):
    assert payments().get().owner == north


def test_a_chargeback_goes_back_from_the_account_the_money_reached(north_paid, north):
    services.payment_order_transition(
        order=north_paid, status=OrderStatus.CHARGEBACK, source="provider"
    )

    assert {e.owner for e in JournalEntry.objects.filter(kind=EntryKind.REVERSAL)} == {north}


def test_a_refund_and_its_credit_note_are_the_orders_owners(north_paid, north, staff):
    refund_request(
        order=north_paid, amount_cents=200, source=Refund.Source.PAYMENT,
        reason="Charged twice", staff_user=staff,
    )  # fmt: skip

    booked = JournalEntry.objects.filter(kind__in=[EntryKind.REFUND, EntryKind.CREDIT_NOTE])
    assert [(e.kind, e.owner) for e in booked.order_by("pk")] == [
        (EntryKind.CREDIT_NOTE, north),
        (EntryKind.REFUND, north),
    ]
