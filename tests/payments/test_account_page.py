import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from fees import services
from tests.factories import DeskStaffFactory, FeeFactory, LoanFactory, PatronFactory

pytestmark = pytest.mark.django_db

URL = reverse("payments:account")


@pytest.fixture
def patron():
    return PatronFactory()


def test_account_shows_balance_open_fees_and_unsettled_payments(client, patron):
    FeeFactory(patron=patron, amount_cents=1200, description="Damaged cover")
    services.payment_book(patron=patron, amount_cents=500, method="cash")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert 'id="balance">7.00 EUR' in page
    assert "Damaged cover" in page
    assert "12.00 EUR" in page
    assert "not yet settled" in page


def test_account_shows_accruing_fines_apart_from_the_balance(client, patron):
    LoanFactory(
        patron=patron,
        item="Faust I",
        due_date=timezone.localdate() - datetime.timedelta(days=4),
        daily_fine_cents=50,
    )
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert "Faust I" in page
    assert 'class="accruing"' in page
    assert "2.00 EUR" in page
    assert 'id="balance">0.00 EUR' in page


def test_account_shows_only_the_logged_in_patrons_fees(client, patron):
    FeeFactory(patron=PatronFactory(), description="Someone else's fine")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert "Someone else" not in page


def test_account_in_german_uses_german_number_format(client, patron):
    FeeFactory(patron=patron, amount_cents=1250)
    client.force_login(patron.user)

    page = client.get(URL, headers={"accept-language": "de"}).content.decode()

    assert "12,50 EUR" in page


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_staff_user_has_no_patron_account(client):
    client.force_login(DeskStaffFactory())

    assert client.get(URL).status_code == 404


def test_account_page_query_count_does_not_grow_with_fees(client, patron):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(patron.user)

    def queries_with(fee_count):
        for _ in range(fee_count):
            FeeFactory(patron=patron, amount_cents=100)
            LoanFactory(patron=patron)
        services.payment_book(patron=patron, amount_cents=50)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured.captured_queries)

    assert queries_with(2) == queries_with(30)


def test_account_page_speaks_german(client, patron):
    FeeFactory(patron=patron, amount_cents=1250, description="Overdue fine")
    client.force_login(patron.user)
    client.post(reverse("set_language"), {"language": "de"})

    page = client.get(URL).content.decode()

    assert '<html lang="de">' in page
    assert "Offene Gebühren" in page
    assert "Kontostand" in page
    assert "Ausgewählte Gebühren bezahlen" in page
    assert "English" in page  # the switch back, named in its own language
