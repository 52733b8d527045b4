"""Patrons sign in the way their library lets them in, and pay, as in a real browser: with
their card and PIN checked by the (fake) Koha, through the test SAML identity provider, and
through the catalogue's signed link."""

import re

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Patron
from payments.models import OrderStatus, PaymentOrder
from tests.accounts.handoff_links import SECRET, signed_link
from tests.accounts.helpers import CARD, PIN
from tests.e2e.conftest import DESKTOP, OVERFLOWING, PHONE, Site

pytestmark = pytest.mark.django_db(transaction=True)

CATALOGUE = "https://opac.example.org/account"


def pay_the_fee(page):
    """Ticks the fee read from Koha, pays it at the simulated provider, and is back."""
    page.get_by_role("checkbox", name=re.compile("Overdue: Faust I")).check()
    page.get_by_role("button", name="Pay selected fees").click()
    expect(page.get_by_role("heading", name="Pay 7.50 EUR")).to_be_visible()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="payment has been received")).to_be_visible()


def test_a_patron_signs_in_with_card_and_pin_and_pays(site, koha_patron, settings):
    settings.SIGN_IN_METHODS = ["library_card"]
    page = site.open("/login/")
    form = page.get_by_role("region", name="Library card number and PIN")
    form.get_by_role("textbox", name="Library card number").fill(CARD)
    form.get_by_label("PIN").fill(PIN)
    form.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name=re.compile("Erika"))).to_be_visible()
    site.check_accessibility("account after a card and PIN sign-in")
    pay_the_fee(page)

    order = PaymentOrder.objects.get()
    assert order.status == OrderStatus.PAID and order.amount_cents == 750
    assert order.patron == Patron.objects.get(external_id="42")


def test_a_patron_signs_in_with_the_university_login_and_pays(
    site, koha_patron, saml_idp, settings
):
    # The IdP's page posts back cross-site: the browser sends the pending login's cookie
    # (SameSite=None) only as a Secure cookie, which it takes from localhost without HTTPS.
    settings.SESSION_COOKIE_SECURE = True
    saml_idp.trust(requests.get(site.url + "/saml2/metadata/", timeout=10).text)
    page = site.open("/login/")
    page.get_by_role("link", name="Log in: University login").click()

    expect(page.get_by_role("heading", name=re.compile("Erika"))).to_be_visible()
    pay_the_fee(page)

    assert PaymentOrder.objects.get().patron == Patron.objects.get(external_id="42")


def test_a_patron_arrives_from_the_catalogue_pays_and_is_offered_the_way_back(
    site, koha_patron, settings
):
    settings.HANDOFF_SECRET = SECRET
    settings.HANDOFF_PATRON_MATCH = "external_id"
    settings.HANDOFF_RETURN_HOSTS = ["opac.example.org"]
    page = site.open(signed_link(patron="42", return_url=CATALOGUE))

    expect(page.get_by_role("heading", name=re.compile("Erika"))).to_be_visible()
    pay_the_fee(page)

    expect(page.get_by_role("link", name="Back to the catalogue")).to_have_attribute(
        "href", CATALOGUE
    )
    assert PaymentOrder.objects.get().status == OrderStatus.PAID


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_login_page_with_every_method_fits_the_screen(
    browser, live_server, settings, viewport, language
):
    settings.SIGN_IN_METHODS = ["library_card", "saml", "oidc", "password"]
    context = browser.new_context(viewport=viewport, locale="en-GB")
    site = Site(live_server, context.new_page())
    try:
        page = site.open("/login/")
        if language == "de":
            page.get_by_role("button", name="Deutsch").click()
            expect(page.get_by_role("heading", name="Ausweisnummer und PIN")).to_be_visible()
        expect(page.get_by_role("heading", level=2)).to_have_count(4)
        assert page.evaluate(OVERFLOWING) == []
        site.check_accessibility(f"login, every method, {viewport['width']} px, {language}")
    finally:
        context.close()
