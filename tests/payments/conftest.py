import datetime

import pytest
from django.utils import timezone

from tests.factories import FeeFactory, PatronFactory

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
def patron_client(client, patron):
    client.force_login(patron.user)
    return client
