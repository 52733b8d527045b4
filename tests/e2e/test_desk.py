"""A desk staff member works through the orders, as in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from fees.models import JournalEntry
from payments import services
from payments.models import EventSource, OrderStatus
from tests.factories import PASSWORD, DeskStaffFactory, PatronFactory
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff():
    return DeskStaffFactory(username="desk1")


@pytest.fixture
def orders():
    anna = PatronFactory(card_number="1000000001", user_number="U-1001", last_name="Berger")
    tom = PatronFactory(card_number="1000000006", user_number="U-1006", last_name="Weber")
    return {
        "open": make_order(patron=anna, amount_cents=350),
        "old": make_order(patron=tom, amount_cents=900, days_old=10),
    }


def search(page, text):
    box = page.get_by_label("Reference, card or user number")
    box.fill(text)
    box.press("Enter")


def act(page, action, reason):
    page.get_by_role("link", name=action).click()
    page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name=re.compile(f"Confirm: {action}")).click()


def test_desk_staff_find_cancel_complete_and_book(site, staff, orders):
    page = site.page
    site.log_in("desk1", PASSWORD)
    expect(page.get_by_role("heading", name="Desk")).to_be_visible()
    site.check_accessibility("desk start page")

    page.get_by_role("link", name="Payment orders").click()
    search(page, orders["open"].reference)
    expect(page.locator("table.orders tbody tr")).to_have_count(1)
    site.check_accessibility("desk orders list")
    search(page, "1000000006")
    expect(page.locator("table.orders tbody tr")).to_contain_text(orders["old"].reference)
    search(page, "u-1006")
    expect(page.locator("table.orders tbody tr")).to_contain_text(orders["old"].reference)
    search(page, "U-1001")
    expect(page.locator("table.orders tbody tr")).to_contain_text(orders["open"].reference)

    page.get_by_role("link", name=orders["open"].reference).click()
    site.check_accessibility("desk order detail")
    act(page, "Cancel order", "Test payment by mistake")
    expect(page.locator("#order-status")).to_have_text("Cancelled by the library")
    expect(page.locator("#audit")).to_contain_text("Test payment by mistake")
    expect(page.locator("#audit")).to_contain_text("desk1")

    page.goto(site.url + f"/desk/orders/{orders['old'].reference}/")
    page.get_by_role("link", name="Complete and book").click()
    site.check_accessibility("desk confirmation")
    page.get_by_label("Reason").fill("Paid per provider portal")
    page.get_by_role("button", name=re.compile("Confirm: Complete and book")).click()
    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.locator("#payment-assigned")).to_contain_text("yes")
    expect(page.locator("#audit")).to_contain_text("Paid per provider portal")

    page.get_by_role("link", name="Weber").click()
    page.get_by_label("Booking").select_option(label="Payment at the desk")
    page.get_by_label("Amount").fill("4.00")
    page.get_by_label("Paid by").select_option(label="Cash")
    page.get_by_label("Note").fill("Paid at the counter")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#audit")).to_contain_text("Booked a counter payment")
    expect(page.locator("#journal")).to_contain_text("Paid at the counter")
    site.check_accessibility("desk patron")

    orders["open"].refresh_from_db()
    orders["old"].refresh_from_db()
    assert orders["open"].status == OrderStatus.CANCELLED_BY_BIB
    assert orders["old"].payment_entry.booked_by == staff
    assert JournalEntry.objects.filter(kind="payment", booked_by=staff).count() == 2


def test_a_button_that_is_not_allowed_yet_says_why(site, staff, orders):
    site.log_in("desk1", PASSWORD)

    site.open(f"/desk/orders/{orders['open'].reference}/")

    expect(site.page.get_by_role("button", name="Complete and book")).to_be_disabled()
    expect(site.page.locator("#why-complete")).to_contain_text("Can be completed from")


def test_desk_staff_resolve_an_underpayment_and_it_leaves_needs_attention(site, staff):
    order = make_order(amount_cents=500)
    services.payment_order_transition(
        order=order, status="Paid", source=EventSource.PROVIDER, amount_cents=200
    )
    page = site.page
    site.open("/login/")
    site.check_accessibility("login")
    site.log_in("desk1", PASSWORD)
    expect(page.locator("#count-underpaid")).to_have_text("1")
    site.check_accessibility("desk start page, one underpayment")

    page.get_by_role("link", name="Underpaid").click()
    expect(page.locator("table.orders tbody tr")).to_have_count(1)
    site.check_accessibility("desk orders needing attention")
    page.get_by_role("link", name=order.reference).click()
    site.check_accessibility("desk order detail, underpaid")
    page.get_by_role("link", name="Mark as resolved").click()
    page.get_by_label("Remaining amount waived").check()
    page.get_by_label("Reason").fill("Waived at the counter, patron is a student")
    site.check_accessibility("desk resolve confirmation")
    page.get_by_role("button", name="Confirm: Mark as resolved").click()

    expect(page.locator("#resolution")).to_contain_text("desk1: Remaining amount waived")
    expect(page.get_by_role("button", name="Mark as resolved")).to_be_disabled()
    site.check_accessibility("desk order detail, resolved")
    page.get_by_role("link", name="Desk", exact=True).click()
    expect(page.locator("#count-underpaid")).to_have_text("0")
    site.check_accessibility("desk start page, nothing underpaid")
