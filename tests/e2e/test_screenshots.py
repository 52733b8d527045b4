"""`make screenshots`: the key pages with the demo data, at desktop and phone width."""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.e2e.conftest import DESKTOP, PHONE

TARGET = os.environ.get("SCREENSHOTS_DIR")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not TARGET, reason="run by `make screenshots`"),
]


@pytest.fixture
def demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())


def shoot(site, name):
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        site.page.set_viewport_size(size)
        site.page.screenshot(path=str(Path(TARGET) / f"{name}-{label}.png"), full_page=True)
    site.page.set_viewport_size(DESKTOP)


def test_take_screenshots(site, demo):
    Path(TARGET).mkdir(parents=True, exist_ok=True)
    page = site.page
    site.open("/login/")
    shoot(site, "01-login")
    site.log_in("1000000002", "demo-patron")
    shoot(site, "02-account")
    # Jonas's counter payment covers one fee and part of another: the rest of each is ticked.
    for box in page.get_by_role("checkbox").all():
        box.check()
    shoot(site, "03-selected")
    page.get_by_role("button", name="Pay selected fees").click()
    shoot(site, "04-simulated-provider")
    page.get_by_role("button", name="Pay", exact=True).click()
    shoot(site, "05-paid")
    page.get_by_role("link", name="Print receipt").click()
    shoot(site, "06-receipt")
    page.get_by_role("button", name="Log out").click()
    site.log_in("1000000004", "demo-patron")
    shoot(site, "07-accruing-fines")
    page.get_by_role("button", name="Log out").click()

    site.log_in("desk1", "demo-staff")
    shoot(site, "08-desk")
    page.get_by_role("link", name="Payment orders").click()
    shoot(site, "09-desk-orders")
    page.get_by_text("book manually").first.locator("xpath=ancestor::tr//a").first.click()
    shoot(site, "10-desk-order")
    page.get_by_role("link", name="Weber, Tom").click()
    shoot(site, "11-desk-patron")


def test_take_the_login_page_with_two_sign_in_methods(site, settings):
    """The README's Sign-in section: card and PIN beside the university login."""
    Path(TARGET).mkdir(parents=True, exist_ok=True)
    settings.SIGN_IN_METHODS = ["library_card", "saml"]
    site.open("/login/")
    shoot(site, "12-login-two-methods")
