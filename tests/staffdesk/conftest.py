import datetime

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from payments import services
from payments.models import SimulatedCheckout
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
