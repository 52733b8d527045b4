"""The desk's start page: what needs attention, and today's money.

Each count has its test with the case it counts (test_order_actions, test_flag_resolution,
test_deliveries); these are the page's own.
"""

import pytest
from django.urls import reverse

from payments import services
from payments.models import EventSource
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db


def test_desk_home_counts_what_needs_attention_and_todays_online_payments(desk_client):
    paid = make_order(amount_cents=1250)
    services.payment_order_transition(order=paid, status="Paid", source=EventSource.PROVIDER)
    make_order(days_old=2)

    page = desk_client.get(reverse("staffdesk:home")).content.decode()

    assert 'id="online-today">12.50 EUR' in page
    assert 'id="count-stuck">1<' in page
    assert 'id="count-underpaid">0<' in page
