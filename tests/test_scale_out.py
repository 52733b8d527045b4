"""Several web processes, one database: a payment started on one server is confirmed on
another, with the patron's session valid on both (nothing is kept in a process).

Two gunicorn servers run as in production (DEBUG off, behind a TLS proxy) on the test
database; the test talks HTTP to them.
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from fees.models import EntryKind, JournalEntry
from payments.models import OrderStatus, PaymentOrder
from tests.factories import FeeFactory, PatronFactory
from tests.processes import database_url, free_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server_env():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "scale-out-test-key-0123456789abcdefghijklmnopqrstuvwxyz0123",
        "ALLOWED_HOSTS": "127.0.0.1",
        "BEHIND_TLS_PROXY": "true",
        "PAYMENT_PROVIDER": "simulated",
        "PAYMENT_MODE": "test",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    return env


class Server:
    """One gunicorn process of the portal; requests reach it as through a TLS proxy."""

    def __init__(self, env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--log-level", "warning"],
            cwd=ROOT, env={**env, "DATABASE_URL": database_url()},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"The server on port {self.port} did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


class Browser:
    """Cookies carried by hand: they are Secure (the proxy speaks HTTPS), the test HTTP."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, method, server: Server, path, data=None):
        headers = {
            "X-Forwarded-Proto": "https",
            "Referer": f"https://127.0.0.1:{server.port}/",
            "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
        }
        if data is not None:
            data = {**data, "csrfmiddlewaretoken": self.cookies.get(settings.CSRF_COOKIE_NAME)}
        response = requests.request(
            method, server.base + path, headers=headers, data=data, allow_redirects=False,
            timeout=30,
        )  # fmt: skip
        self.cookies.update(response.cookies.get_dict())
        return response


@pytest.fixture
def servers(server_env):
    first, second = Server(server_env), Server(server_env)
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def patron_with_fees():
    patron = PatronFactory(email="")
    # The servers check passwords with the production hasher, not the tests' fast one.
    patron.user.password = PBKDF2PasswordHasher().encode(PASSWORD, "scaleoutsalt")
    patron.user.save(update_fields=["password"])
    fees = [FeeFactory(patron=patron, amount_cents=cents) for cents in (250, 400)]
    return patron, fees


def _path(location: str) -> str:
    return re.sub(r"^https?://[^/]+", "", location)


def test_payment_started_on_one_server_is_confirmed_on_another(servers, patron_with_fees):
    first, second = servers
    patron, fees = patron_with_fees
    browser = Browser()

    browser.request("GET", first, "/login/")
    login = browser.request(
        "POST", first, "/login/", {"username": patron.card_number, "password": PASSWORD}
    )
    assert login.status_code == 302, "the login on the first server failed"
    assert browser.request("GET", second, "/account/").status_code == 200  # same session

    started = browser.request("POST", first, "/pay/", {"fee": [fee.pk for fee in fees]})
    assert started.status_code == 302
    checkout = _path(started.headers["Location"])
    assert checkout.startswith("/simulated-provider/")
    order = PaymentOrder.objects.get(patron=patron)
    assert order.status == OrderStatus.CREATED_AT_PROVIDER

    browser.request("GET", second, checkout)
    paid = browser.request("POST", second, checkout, {"action": "pay", "delivery": "now"})
    assert paid.status_code == 302

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    payment = JournalEntry.objects.get(patron=patron, kind=EntryKind.PAYMENT)
    assert payment.amount_cents == -650 and order.payment_entry_id == payment.pk
    page = browser.request("GET", first, f"/orders/{order.reference}/")
    assert page.status_code == 200 and "Paid" in page.text


def test_logging_out_on_one_server_ends_the_session_on_another(servers, patron_with_fees):
    first, second = servers
    patron, _fees = patron_with_fees
    browser = Browser()
    browser.request("GET", first, "/login/")
    browser.request(
        "POST", first, "/login/", {"username": patron.card_number, "password": PASSWORD}
    )
    session = dict(browser.cookies)

    assert browser.request("POST", second, "/logout/", {}).status_code == 302

    browser.cookies = session  # the old cookie, replayed
    assert browser.request("GET", first, "/account/").status_code == 302
