"""A patron pays online, as in a real browser."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fees import services as ledger
from payments.models import OrderStatus, PaymentOrder
from tests.factories import PASSWORD, FeeFactory, LoanFactory, PatronFactory

pytestmark = pytest.mark.django_db(transaction=True)

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def _patron_with_fees():
    """Three open fees and an overdue loan."""
    patron = PatronFactory(card_number="1000000002", first_name="Jonas", last_name="Schulz",
                           email="jonas@example.org")  # fmt: skip
    for cents, text, fee_type in (
        (500, "Overdue fine", "overdue"),
        (1200, "Damaged cover", "lost_item"),
        (300, "Reservation fee", "reservation"),
    ):
        FeeFactory(patron=patron, amount_cents=cents, description=text, fee_type=fee_type,
                   business_date=YESTERDAY)  # fmt: skip
    LoanFactory(
        patron=patron, item="Faust I", due_date=timezone.localdate() - datetime.timedelta(days=6)
    )
    return patron


@pytest.fixture
def patron_paid_at_the_desk():
    """12.00 of the fees paid at the desk this morning: the oldest fee, 5.00, and 7.00 of the
    next, as the settlement will offset them tonight."""
    patron = _patron_with_fees()
    ledger.payment_book(patron=patron, amount_cents=1200, method="cash")
    return patron


@pytest.fixture
def credited_patron():
    """A credit note of 12.00 this morning, for no fee in particular: it lowers the balance
    to 8.00 while every fee is still open in full."""
    patron = _patron_with_fees()
    ledger.credit_note_book(patron=patron, amount_cents=1200, note="Goodwill")
    return patron


def fee_box(page, description):
    return page.get_by_role("checkbox", name=re.compile(description))


def test_patron_pays_what_the_balance_allows_and_prints_the_receipt(site, credited_patron):
    page = site.page
    site.log_in(credited_patron.card_number, PASSWORD)

    expect(page.locator("#balance")).to_have_text("8.00 EUR")
    expect(page.get_by_role("row", name=re.compile("Faust I"))).to_contain_text("3.00 EUR")
    expect(
        page.get_by_role("row", name=re.compile("Faust I")).get_by_role("checkbox")
    ).to_have_count(0)
    site.check_accessibility("account")

    for description in ("Overdue fine", "Damaged cover", "Reservation fee"):
        fee_box(page, description).check()
    page.get_by_role("button", name="Pay selected fees").click()
    expect(page.get_by_role("alert")).to_contain_text("at most 8.00 EUR right now")
    expect(fee_box(page, "Damaged cover")).to_be_checked()  # the selection is kept
    site.check_accessibility("account with the overbooking message")

    fee_box(page, "Damaged cover").uncheck()
    page.get_by_role("button", name="Pay selected fees").click()
    expect(page.get_by_role("heading", name="Pay 8.00 EUR")).to_be_visible()
    site.check_accessibility("simulated provider")

    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="payment has been received")).to_be_visible()
    site.check_accessibility("return page, paid")
    order = PaymentOrder.objects.get()
    assert order.status == OrderStatus.PAID and order.payment_entry.amount_cents == -800

    page.evaluate("window.print = () => { window.printed = true }")
    page.get_by_role("link", name="Print receipt").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(page.locator("tfoot")).to_contain_text("8.00 EUR")
    page.evaluate("window.print = () => { window.printed = true }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") is True
    site.check_accessibility("receipt")


def test_a_second_tab_cannot_pay_a_fee_already_in_an_open_order(site, context, credited_patron):
    first = site.page
    site.log_in(credited_patron.card_number, PASSWORD)
    second = context.new_page()
    second.goto(site.url + "/account/")

    fee_box(first, "Overdue fine").check()
    first.get_by_role("button", name="Pay selected fees").click()
    expect(first.get_by_role("heading", name="Pay 5.00 EUR")).to_be_visible()

    fee_box(second, "Overdue fine").check()
    second.get_by_role("button", name="Pay selected fees").click()

    expect(second.get_by_role("alert")).to_contain_text(
        "already in a payment that has not finished"
    )
    assert PaymentOrder.objects.count() == 1


def test_the_pay_flow_works_with_the_keyboard_alone(site, credited_patron):
    page = site.page
    site.log_in(credited_patron.card_number, PASSWORD)

    fee_box(page, "Overdue fine").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the next fee
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the pay button
    expect(page.get_by_role("button", name="Pay selected fees")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Pay 5.00 EUR")).to_be_visible()

    page.get_by_role("button", name="Pay", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="payment has been received")).to_be_visible()


def test_the_patron_can_use_the_portal_in_german(site, credited_patron):
    page = site.page
    site.log_in(credited_patron.card_number, PASSWORD)

    page.get_by_role("button", name="Deutsch").click()

    expect(page.get_by_role("heading", name="Offene Gebühren")).to_be_visible()
    expect(page.locator("#balance")).to_have_text("8,00 EUR")
    expect(page.get_by_role("heading", name="Laufende Säumnisgebühren")).to_be_visible()
    for description in ("Overdue fine", "Damaged cover"):
        fee_box(page, description).check()
    page.get_by_role("button", name="Ausgewählte Gebühren bezahlen").click()
    expect(page.get_by_role("alert")).to_contain_text("höchstens 8,00 EUR")
    site.check_accessibility("account in German")

    fee_box(page, "Damaged cover").uncheck()
    page.get_by_role("button", name="Ausgewählte Gebühren bezahlen").click()
    expect(page.get_by_role("heading", name="5,00 EUR bezahlen")).to_be_visible()
    page.get_by_role("button", name="Bezahlen", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Zahlung ist eingegangen")
    page.get_by_role("link", name="Quittung drucken").click()
    expect(page.get_by_role("heading", name="Quittung")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")


def test_a_form_error_is_announced_next_to_the_field(site, patron_paid_at_the_desk):
    page = site.page
    site.open("/login/")
    page.get_by_role("button", name="Log in").click()

    username = site.card_number_box()
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_attribute("aria-describedby", re.compile("id_username_error"))
    expect(page.locator("#id_username_error")).to_have_text("This field is required.")
    expect(page.locator("#id_username_error")).to_have_attribute("role", "alert")
    site.check_accessibility("login with errors")


def test_a_patron_who_opens_a_desk_url_is_refused(site, patron_paid_at_the_desk):
    site.log_in(patron_paid_at_the_desk.card_number, PASSWORD)

    response = site.page.goto(site.url + "/desk/orders/")

    assert response.status == 403
