"""Payments off the straight path, in a real browser on the simulated provider: given up,
paid short, already covered at the counter, paid after the library cancelled; the running
total; and the pages that say something went wrong. Every page visited is checked by axe."""

import datetime
import re
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from fees import services as ledger
from payments import services
from payments.models import EventSource, OrderStatus, PaymentOrder
from tests.factories import PASSWORD, DeskStaffFactory, FeeFactory, PatronFactory

pytestmark = pytest.mark.django_db(transaction=True)

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture
def patron_with_a_fee():
    """One fee of 12.00, nothing paid yet."""
    patron = PatronFactory(card_number="1000000007", first_name="Mia", last_name="Keller")
    FeeFactory(
        patron=patron, amount_cents=1200, description="Damaged cover", fee_type="lost_item",
        business_date=YESTERDAY,
    )  # fmt: skip
    return patron


@pytest.fixture
def counter_patron():
    """Two fees, 5.00 and 12.00; 12.00 paid at the desk this morning, which pays the oldest
    fee in full and 7.00 of the other."""
    patron = PatronFactory(card_number="1000000008", first_name="Jonas", last_name="Schulz")
    for cents, text, fee_type in ((500, "Overdue fine", "overdue"),
                                  (1200, "Damaged cover", "lost_item")):  # fmt: skip
        FeeFactory(patron=patron, amount_cents=cents, description=text, fee_type=fee_type,
                   business_date=YESTERDAY)  # fmt: skip
    ledger.payment_book(patron=patron, amount_cents=1200, method="cash")
    return patron


def log_in(site, patron):
    site.open("/login/")
    site.check_accessibility("login")
    site.log_in(patron.card_number, PASSWORD)
    expect(site.page.get_by_role("heading", name="Open fees")).to_be_visible()
    site.check_accessibility("account")


def fee_box(page, description):
    return page.get_by_role("checkbox", name=re.compile(description))


def start_paying(site, *descriptions, amount):
    page = site.page
    for description in descriptions:
        fee_box(page, description).check()
    page.get_by_role("button", name="Pay selected fees").click()
    expect(page.get_by_role("heading", name=f"Pay {amount}")).to_be_visible()
    site.check_accessibility("simulated provider")


def pay_at_the_provider(site):
    page = site.page
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="payment has been received")).to_be_visible()
    site.check_accessibility("return page, paid")


def test_a_patron_who_left_the_provider_gives_up_the_payment_and_pays_again(
    site, patron_with_a_fee
):
    page = site.page
    log_in(site, patron_with_a_fee)
    start_paying(site, "Damaged cover", amount="12.00 EUR")

    page.get_by_role("button", name="Abandon").click()
    expect(page.get_by_role("status")).to_contain_text("still being processed")
    site.check_accessibility("order page, still open")
    page.get_by_role("button", name="Give up this payment").click()

    expect(page.get_by_role("status").filter(has_text="You gave up payment")).to_be_visible()
    site.check_accessibility("account after giving up a payment")
    start_paying(site, "Damaged cover", amount="12.00 EUR")
    pay_at_the_provider(site)
    statuses = list(PaymentOrder.objects.order_by("created_at").values_list("status", flat=True))
    assert statuses == [OrderStatus.FAILED, OrderStatus.PAID]


def test_the_account_page_names_the_payment_holding_a_fee_and_gives_it_up(site, patron_with_a_fee):
    page = site.page
    log_in(site, patron_with_a_fee)
    start_paying(site, "Damaged cover", amount="12.00 EUR")
    order = PaymentOrder.objects.get()

    site.open("/account/")
    expect(page.get_by_role("row", name=re.compile("Damaged cover"))).to_contain_text(
        f"Payment in progress: {order.reference}"
    )
    site.check_accessibility("account with a payment in progress")
    page.get_by_role("button", name=f"Give up this payment {order.reference}").click()

    expect(fee_box(page, "Damaged cover")).to_be_enabled()
    site.check_accessibility("account after giving up a payment")
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED


def test_a_patron_who_paid_too_little_sees_how_much_and_pays_the_rest(site, patron_with_a_fee):
    page = site.page
    log_in(site, patron_with_a_fee)
    start_paying(site, "Damaged cover", amount="12.00 EUR")

    page.get_by_role("button", name="Pay less").click()
    expect(page.get_by_role("status")).to_contain_text(
        "We received 6.00 EUR, less than the 12.00 EUR of this payment."
    )
    site.check_accessibility("order page, underpaid")
    page.get_by_role("link", name="Pay the rest").click()
    expect(page.get_by_role("row", name=re.compile("Damaged cover"))).to_contain_text(
        "6.00 EUR of 12.00 EUR still to pay"
    )
    site.check_accessibility("account with a fee partly paid")
    start_paying(site, "Damaged cover", amount="6.00 EUR")
    pay_at_the_provider(site)

    rest = PaymentOrder.objects.order_by("created_at").last()
    assert rest.payment_entry.amount_cents == -600


def test_a_fee_paid_at_the_counter_today_says_so_instead_of_offering_a_checkbox(
    site, counter_patron
):
    page = site.page

    log_in(site, counter_patron)

    covered = page.get_by_role("row", name=re.compile("Overdue fine"))
    expect(covered).to_contain_text("Paid; it is offset in the next daily settlement.")
    expect(covered.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("Damaged cover"))).to_contain_text(
        "5.00 EUR of 12.00 EUR still to pay"
    )


def test_money_that_came_after_the_library_cancelled_is_explained(
    site, patron_with_a_fee, live_server
):
    order = services.order_create(
        patron=patron_with_a_fee, fee_ids=[patron_with_a_fee.journal_entries.get().pk]
    )
    order_url = live_server.url + reverse("payments:order", args=[order.reference])
    services.order_start(order=order, return_url=order_url, cancel_url=order_url)
    services.order_cancel(order=order, staff_user=DeskStaffFactory(), reason="started twice")
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )
    page = site.page
    log_in(site, patron_with_a_fee)

    site.open(reverse("payments:order", args=[order.reference]))

    expect(page.get_by_role("status")).to_contain_text(
        "Your money arrived after the library had cancelled this payment."
    )
    expect(page.get_by_role("status")).to_contain_text("do not need to pay these fees again")
    site.check_accessibility("order page, paid after a cancellation")


def test_the_total_of_the_ticked_fees_follows_each_tick(site, counter_patron):
    page = site.page
    log_in(site, counter_patron)
    FeeFactory(patron=counter_patron, amount_cents=300, description="Reservation fee",
               fee_type="reservation")  # fmt: skip
    site.open("/account/")

    fee_box(page, "Damaged cover").check()
    expect(page.locator("#selected-total")).to_have_text("5.00 EUR")
    fee_box(page, "Reservation fee").check()
    expect(page.locator("#selected-total")).to_have_text("8.00 EUR")
    fee_box(page, "Damaged cover").uncheck()

    expect(page.locator("#selected-total")).to_have_text("3.00 EUR")
    site.check_accessibility("account with fees ticked")


def test_the_total_of_the_ticked_fees_is_written_as_in_german(site, patron_with_a_fee):
    page = site.page
    log_in(site, patron_with_a_fee)
    page.get_by_role("button", name="Deutsch").click()

    fee_box(page, "Damaged cover").check()

    expect(page.locator("#selected-total")).to_have_text("12,00 EUR")
    site.check_accessibility("account in German with a fee ticked")


def test_a_missing_page_looks_like_the_portal(site, patron_with_a_fee, settings):
    settings.LIBRARY_NAME = "Stadtbibliothek Beispielstadt"
    log_in(site, patron_with_a_fee)

    response = site.page.goto(site.url + "/orders/EP-2222-2222/")

    assert response.status == 404
    expect(site.page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(site.page.get_by_role("banner")).to_contain_text("Stadtbibliothek Beispielstadt")
    site.check_accessibility("404 page")


def test_a_desk_page_refused_to_a_patron_looks_like_the_portal(site, patron_with_a_fee):
    log_in(site, patron_with_a_fee)

    response = site.page.goto(site.url + "/desk/orders/")

    assert response.status == 403
    expect(site.page.get_by_role("heading", name="No access")).to_be_visible()
    site.check_accessibility("403 page")


def test_a_server_error_looks_like_the_portal(site, patron_with_a_fee, settings):
    settings.LIBRARY_NAME = "Stadtbibliothek Beispielstadt"
    log_in(site, patron_with_a_fee)

    with mock.patch(
        "payments.views.patron.selectors.account_overview",
        side_effect=RuntimeError("database gone"),
    ):
        response = site.page.goto(site.url + "/account/")

    assert response.status == 500
    expect(site.page.get_by_role("heading", name="Server error")).to_be_visible()
    expect(site.page.get_by_role("banner")).to_contain_text("Stadtbibliothek Beispielstadt")
    site.check_accessibility("500 page")
