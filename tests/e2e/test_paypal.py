"""A patron whose fees' owner takes PayPal pays on (the fake) PayPal's approval page, as in
a real browser, in English and in German."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fees.models import Owner
from payments.models import OrderStatus, PaymentOrder
from tests.factories import PASSWORD, FeeFactory, PatronFactory
from tests.payments.paypal.helpers import paypal_faked

pytestmark = pytest.mark.django_db(transaction=True)

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture
def fake_paypal(settings):
    with paypal_faked(settings) as fake:
        yield fake


@pytest.fixture
def patron():
    patron = PatronFactory(card_number="1000000007", first_name="Lena", last_name="Vogel")
    FeeFactory(patron=patron, amount_cents=500, description="Overdue fine",
               business_date=YESTERDAY)  # fmt: skip
    return patron


@pytest.mark.parametrize(
    ("language", "pay_button", "paid"),
    [
        ("en", "Pay selected fees", "Thank you, your payment has been received."),
        ("de", "Ausgewählte Gebühren bezahlen", "Vielen Dank, Ihre Zahlung ist eingegangen."),
    ],
)
def test_patron_pays_on_paypals_approval_page(site, fake_paypal, patron, language, pay_button,
                                              paid):  # fmt: skip
    page = site.page
    site.log_in(patron.card_number, PASSWORD)
    if language == "de":
        page.get_by_role("button", name="Deutsch").click()
        expect(page.locator("html")).to_have_attribute("lang", "de")

    page.get_by_role("checkbox", name=re.compile("Overdue fine")).check()
    page.get_by_role("button", name=pay_button).click()
    expect(page.get_by_role("heading", name="Pay 5.00")).to_be_visible()
    assert page.url.startswith(fake_paypal.url)

    page.get_by_role("button", name="Pay Now").click()
    expect(page.get_by_text(paid)).to_be_visible()
    site.check_accessibility(f"return page, paid at PayPal ({language})")
    order = PaymentOrder.objects.get()
    assert (order.provider, order.status) == ("paypal", OrderStatus.PAID)
    assert order.payment_entry.amount_cents == -500


def test_patron_picks_paypal_where_the_owner_offers_two(site, fake_paypal, patron):
    owner = Owner.objects.default()
    owner.provider = "simulated,paypal"
    owner.save()
    page = site.page
    site.log_in(patron.card_number, PASSWORD)

    choice = page.get_by_role("group", name="Pay with:")
    expect(choice.get_by_role("radio", name="simulated provider")).to_be_checked()
    site.check_accessibility("account with a choice of providers")
    choice.get_by_role("radio", name="PayPal").check()
    page.get_by_role("checkbox", name=re.compile("Overdue fine")).check()
    page.get_by_role("button", name="Pay selected fees").click()

    expect(page.get_by_role("heading", name="Pay 5.00")).to_be_visible()
    assert PaymentOrder.objects.get().provider == "paypal"


def test_patron_who_cancels_at_paypal_is_back_at_the_account(site, fake_paypal, patron):
    page = site.page
    site.log_in(patron.card_number, PASSWORD)
    page.get_by_role("checkbox", name=re.compile("Overdue fine")).check()
    page.get_by_role("button", name="Pay selected fees").click()

    page.get_by_role("button", name="Cancel and return").click()

    expect(
        page.get_by_text(re.compile("You cancelled payment .* Nothing has been charged"))
    ).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("Overdue fine"))).to_be_enabled()
    site.check_accessibility("account after cancelling at PayPal")
    assert PaymentOrder.objects.get().status == OrderStatus.FAILED
