"""German throughout: statuses and payment methods read in German on the patron's orders
list, the patron's order pages and the desk's order page with its history."""

import re

import pytest
from playwright.sync_api import expect

from payments import services
from payments.models import EventSource, OrderStatus, PaymentOrder
from tests.factories import PASSWORD, DeskStaffFactory, PatronFactory
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)

# Status and method words as stored, and as the English interface shows them.
ENGLISH = re.compile(
    r"\b(Created|CreatedAtProvider|Created at provider|Paid|Underpaid|Chargeback|Cancelation|"
    r"CancelledByBib|Cancelled by the library|Failed|Unknown|card)\b"
)


@pytest.fixture
def patron_with_orders():
    patron = PatronFactory(card_number="1000000006", user_number="U-1006", email="")
    paid, underpaid, late, failed = (make_order(patron=patron) for _ in range(4))
    provider = {"source": EventSource.PROVIDER, "payment_method": "card"}
    services.payment_order_transition(order=paid, status=OrderStatus.PAID, **provider)
    services.payment_order_transition(
        order=underpaid, status=OrderStatus.UNDERPAID, amount_cents=200, **provider
    )
    services.order_cancel(order=late, staff_user=DeskStaffFactory(), reason="asked")
    services.payment_order_transition(order=late, status=OrderStatus.PAID, **provider)
    services.payment_order_transition(order=failed, status=OrderStatus.FAILED, **provider)
    return patron


def in_german(site):
    site.page.get_by_role("button", name="Deutsch").click()
    expect(site.page.locator("html")).to_have_attribute("lang", "de")


def english_left(page) -> list[str]:
    return ENGLISH.findall(page.locator("main").inner_text())


def test_the_patrons_orders_and_order_pages_speak_german(site, patron_with_orders):
    site.log_in(patron_with_orders.card_number, PASSWORD)
    in_german(site)

    site.open("/orders/")
    assert english_left(site.page) == []
    site.check_accessibility("orders list in German")
    for order in PaymentOrder.objects.filter(patron=patron_with_orders):
        site.open(f"/orders/{order.reference}/")
        assert english_left(site.page) == [], order.status


def test_the_desk_order_page_and_its_history_speak_german(site, patron_with_orders):
    DeskStaffFactory(username="desk1")
    site.log_in("desk1", PASSWORD)
    in_german(site)

    for order in PaymentOrder.objects.filter(patron=patron_with_orders):
        site.open(f"/desk/orders/{order.reference}/")
        expect(site.page.locator("#events")).to_be_visible()
        assert english_left(site.page) == [], order.status
    site.check_accessibility("desk order page in German")
