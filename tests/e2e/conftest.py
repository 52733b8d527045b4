"""Browser tests: Playwright driving Debian's Chromium against the live test server.

A browser that cannot start is an error, never a skip.
"""

import os
import re
from collections import defaultdict
from contextlib import contextmanager

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Elements wider than their box, by what they are: the page itself and each table's box.
OVERFLOWING = """() => {
    const wider = el => el.scrollWidth > el.clientWidth;
    const found = [];
    if (wider(document.documentElement)) found.push("page");
    document.querySelectorAll(".table-wrap").forEach((box, i) => {
        if (wider(box)) found.push(`table ${i} (${box.querySelector("table").id || ""}): `
            + `${box.scrollWidth} > ${box.clientWidth}`);
    });
    return found;
}"""

axe_findings: dict[str, dict[str, int]] = defaultdict(dict)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            # The browser runs against the production database engine only.
            item.add_marker(pytest.mark.postgres_only)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(autouse=True)
def _live_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False


class Site:
    """The portal as a person meets it."""

    def __init__(self, live_server, page):
        self.url = live_server.url
        self.page = page

    def open(self, path):
        self.page.goto(self.url + path)
        return self.page

    def log_in(self, username, password):
        self.open("/login/")
        form = self.page.locator("form").filter(has=self.card_number_box()).first
        form.get_by_role("textbox", name=self.CARD_NUMBER).fill(username)
        form.get_by_label(re.compile("^(Password|Passwort)$")).fill(password)
        form.get_by_role("button", name=re.compile("^(Log in|Anmelden)$")).click()

    CARD_NUMBER = re.compile("card number|Ausweisnummer", re.I)

    def card_number_box(self):
        """The login page's card number field (its section's heading names it too)."""
        return self.page.get_by_role("textbox", name=self.CARD_NUMBER)

    def check_accessibility(self, name):
        """No serious or critical axe violation on the page as it is now."""
        results = Axe().run(self.page)
        counts = {"serious": 0, "critical": 0, "moderate": 0, "minor": 0}
        for violation in results.response["violations"]:
            counts[violation["impact"]] = counts.get(violation["impact"], 0) + len(
                violation["nodes"]
            )
        axe_findings[name] = counts
        bad = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{name}: {bad}"


@pytest.fixture
def site(live_server, page):
    return Site(live_server, page)


def pytest_terminal_summary(terminalreporter):
    if not axe_findings:
        return
    terminalreporter.section("axe-core findings per page (nodes)")
    for name, counts in sorted(axe_findings.items()):
        terminalreporter.write_line(
            f"{name:40} critical {counts['critical']}  serious {counts['serious']}  "
            f"moderate {counts['moderate']}  minor {counts['minor']}"
        )


@contextmanager
def signed_in_site(browser, live_server, *, viewport, language, username, start):
    """A browser of `viewport` size signed in as `username`, switched to `language` on the
    page `start`; closed afterwards."""
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(10_000)
    site = Site(live_server, context.new_page())
    try:
        site.log_in(username, PASSWORD)
        if language == "de":
            site.open(start).get_by_role("button", name="Deutsch").click()
            expect(site.page.locator("html")).to_have_attribute("lang", "de")
        yield site
    finally:
        context.close()
