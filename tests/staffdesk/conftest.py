import datetime
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from fees import services as ledger
from fees.models import Delivery
from payments import services
from payments.models import EventSource, SimulatedCheckout
from payments.providers.simulated import SIGNATURE_HEADER, SimulatedProvider
from tests.factories import FeeFactory, PatronFactory, UserFactory


@pytest.fixture
def viewer(client):
    """A desk user who may look but not act."""
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="use_desk"))
    client.force_login(user)
    return client


def make_order(*, amount_cents=500, patron=None, days_old=0, start=True):
    patron = patron or PatronFactory()
    fee = FeeFactory(patron=patron, amount_cents=amount_cents)
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    if start:
        services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    if days_old:
        order.__class__.objects.filter(pk=order.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=days_old)
        )
    order.refresh_from_db()
    return order


def pay_simulated(order, action="pay"):
    """The patron pays the order on the simulated provider's page; its callback arrives."""
    provider = SimulatedProvider.from_settings()
    checkout = SimulatedCheckout.objects.get(transaction_id=order.provider_transaction_id)
    for body in provider.act(checkout, action):
        services.webhook_receive(
            provider_name="simulated",
            body=body,
            headers={SIGNATURE_HEADER: provider.sign(body)},
        )
    order.refresh_from_db()
    return order


@pytest.fixture
def order(db):
    return make_order()


@pytest.fixture
def patron(db):
    return PatronFactory(user_number="U-42", card_number="4242")


@pytest.fixture
def paid_order(db):
    """An order of 8.00 the patron paid on the simulated provider's page."""
    return pay_simulated(make_order(amount_cents=800))


def underpaid():
    """An order of 5.00 the provider says was paid with 2.00."""
    order = make_order(amount_cents=500)
    services.payment_order_transition(
        order=order, status="Paid", source=EventSource.PROVIDER, amount_cents=200
    )
    order.refresh_from_db()
    return order


def refused_delivery(patron):
    """A counter payment of the patron's that the library system refused."""
    payment = ledger.payment_book(patron=patron, amount_cents=500, method="cash")
    Delivery.objects.filter(entry=payment).update(
        status=Delivery.Status.FAILED, attempts=1, last_error="422 unknown account line"
    )
    return Delivery.objects.get(entry=payment)


def order_action(client, order, slug, reason="Checked with the patron", submission=None, **data):
    """Send the confirmation form of an action on the order page."""
    url = reverse("staffdesk:order_action", args=[order.reference, slug])
    data |= {"reason": reason, "submission": str(submission or uuid.uuid4())}
    return client.post(url, data)
