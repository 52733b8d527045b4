import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import PaymentOrder, Refund, SimulatedCheckout
from payments.services.refunds import refund_request
from tests.factories import FeeFactory, FeeKindFactory, PatronFactory
from tests.payments.helpers import choose, start_payment, stripe_faked

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture
def patron():
    return PatronFactory(email="patron@example.org")


@pytest.fixture
def fees(patron):
    return [
        FeeFactory(
            patron=patron, amount_cents=500, description="Overdue fine", business_date=YESTERDAY
        ),
        FeeFactory(
            patron=patron, amount_cents=1200, description="Damaged cover", business_date=YESTERDAY
        ),
        FeeFactory(
            patron=patron, amount_cents=300, description="Reminder", business_date=YESTERDAY
        ),
    ]


@pytest.fixture
def desk_only():
    """A fee type paid at the library desk only."""
    return FeeKindFactory(code="replacement", name_en="Replacement", payable_online=False)


@pytest.fixture
def desk_fee(patron, desk_only):
    return FeeFactory(patron=patron, fee_type=desk_only.code, description="New card")


@pytest.fixture
def patron_client(client, patron):
    client.force_login(patron.user)
    return client


@pytest.fixture
def order(patron_client, fees):
    """The order the patron started for the first fee (5.00) from the account page."""
    start_payment(patron_client, fees[0])
    return PaymentOrder.objects.get()


@pytest.fixture
def fake_stripe(settings):
    settings.PAYMENT_PROVIDER = "stripe"
    with stripe_faked(settings) as fake:
        yield fake


@pytest.fixture
def refunded(patron_client, order, staff):
    """The 5.00 order paid on the simulated provider's page; staff refunded 0.70 of it to
    the card."""
    checkout = SimulatedCheckout.objects.get(transaction_id=order.provider_transaction_id)
    choose(
        patron_client, reverse("payments:simulated_checkout", args=[checkout.transaction_id]), "pay"
    )
    order.refresh_from_db()
    return refund_request(
        order=order,
        amount_cents=70,
        source=Refund.Source.PAYMENT,
        reason="Charged for a book returned in time",
        staff_user=staff,
    )


@pytest.fixture
def fake_paypal(settings):
    """The fake PayPal as the portal's provider, trusted for its webhook certificate."""
    from tests.payments.paypal.helpers import paypal_faked

    with paypal_faked(settings) as fake:
        yield fake
