"""The desk's pages on a phone, and its search boxes, as in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, Site
from tests.factories import PASSWORD, DeskStaffFactory, FeeFactory, PatronFactory
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)

# How far the page can be scrolled sideways, in CSS pixels (0: it fits the screen).
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# Whether the box shows its placeholder in full: the same text as a value must not scroll.
PLACEHOLDER_FITS = """box => {
    box.value = box.placeholder;
    const fits = box.scrollWidth <= box.clientWidth;
    box.value = "";
    return fits;
}"""


@pytest.fixture
def staff():
    return DeskStaffFactory(username="desk1")


@pytest.fixture
def order():
    patron = PatronFactory(
        card_number="1000000006", user_number="U-1006", first_name="Tom", last_name="Weber"
    )
    FeeFactory(patron=patron, description="Lost item replacement charge", item="A long title")
    return make_order(patron=patron, amount_cents=900, days_old=10)


def site_at(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(10_000)
    site = Site(live_server, context.new_page())
    site.log_in("desk1", PASSWORD)
    return site


@pytest.fixture
def phone(browser, live_server, staff):
    site = site_at(browser, live_server, PHONE)
    yield site
    site.page.context.close()


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def any_screen(request, browser, live_server, staff):
    site = site_at(browser, live_server, request.param)
    yield site
    site.page.context.close()


def test_orders_list_fits_a_phone(phone, order):
    page = phone.open("/desk/orders/?q=U-1006")
    expect(page.locator("table.orders tbody tr")).to_have_count(1)

    assert page.evaluate(SIDEWAYS) == 0
    phone.check_accessibility("desk orders list, phone")


def test_order_page_fits_a_phone(phone, order):
    page = phone.open(f"/desk/orders/{order.reference}/")
    expect(page.locator("#order-status")).to_be_visible()

    assert page.evaluate(SIDEWAYS) == 0
    phone.check_accessibility("desk order detail, phone")


def test_start_page_search_boxes_show_their_placeholder_in_full(any_screen):
    page = any_screen.open("/desk/")

    for name in ("Find a payment order", "Open a patron's account"):
        box = page.get_by_label(name)
        assert box.get_attribute("placeholder")
        assert box.evaluate(PLACEHOLDER_FITS), name
    assert page.evaluate(SIDEWAYS) == 0
    any_screen.check_accessibility(f"desk start page, {page.viewport_size['width']} px")
