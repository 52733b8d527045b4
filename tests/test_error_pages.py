"""The 403, 404 and 500 pages look like the portal and speak the patron's language.

Django renders them only with DEBUG off, which is how tests run."""

from unittest import mock

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from tests.factories import DeskStaffFactory, PatronFactory

pytestmark = pytest.mark.django_db

LIBRARY = "Stadtbibliothek Beispielstadt"
MISSING_ORDER = reverse("payments:order", args=["EP-2222-2222"])


@pytest.fixture(autouse=True)
def _library_name(settings):
    settings.LIBRARY_NAME = LIBRARY


@pytest.fixture
def patron_client(client):
    client.force_login(PatronFactory().user)
    return client


@pytest.fixture
def failing_client(patron_client):
    """A client whose account page fails, answered by the 500 page instead of raising."""
    patron_client.raise_request_exception = False
    with mock.patch(
        "payments.views.patron.selectors.account_overview",
        side_effect=RuntimeError("database gone"),
    ):
        yield patron_client


@pytest.mark.parametrize(
    ("client_fixture", "url", "status", "heading"),
    [
        pytest.param("patron_client", MISSING_ORDER, 404, "Page not found", id="404"),
        pytest.param("patron_client", reverse("staffdesk:orders"), 403, "No access", id="403"),
        pytest.param("failing_client", reverse("payments:account"), 500, "Server error", id="500"),
    ],
)
def test_the_error_page_has_the_portals_look(request, client_fixture, url, status, heading):
    response = request.getfixturevalue(client_fixture).get(url)

    page = response.content.decode()
    assert response.status_code == status
    assert f"<h1>{heading}</h1>" in page
    assert LIBRARY in page
    assert "portal.css" in page


@pytest.mark.parametrize(
    ("client_fixture", "url", "status", "heading"),
    [
        pytest.param("patron_client", MISSING_ORDER, 404, "Seite nicht gefunden", id="404"),
        pytest.param("failing_client", reverse("payments:account"), 500, "Serverfehler", id="500"),
    ],
)
def test_the_error_page_speaks_german_to_a_german_browser(
    request, client_fixture, url, status, heading
):
    response = request.getfixturevalue(client_fixture).get(url, headers={"accept-language": "de"})

    page = response.content.decode()
    assert response.status_code == status
    assert '<html lang="de">' in page
    assert f"<h1>{heading}</h1>" in page
    assert "Zurück zu Ihrem Konto" in page


def test_the_403_page_speaks_german_after_the_language_switch(patron_client):
    patron_client.post(reverse("set_language"), {"language": "de"})

    response = patron_client.get(reverse("staffdesk:orders"))

    page = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="de">' in page
    assert "Zum Inhalt springen" in page
    assert "Zurück zu Ihrem Konto" in page


def test_the_500_page_renders_without_any_context():
    # Django's own handler500 renders it with an empty context, no request.
    page = render_to_string("500.html")

    assert "<h1>Server error</h1>" in page
    assert "csrfmiddlewaretoken" not in page


def test_the_500_page_offers_no_forms_that_need_a_session(failing_client):
    page = failing_client.get(reverse("payments:account")).content.decode()

    assert "<form" not in page


def test_an_anonymous_visitor_gets_the_404_page_too():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert LIBRARY in response.content.decode()


@pytest.fixture
def desk_without_refunds(client):
    """A desk user such as the demo's desk2: the desk, but no refunds to the card."""
    client.force_login(DeskStaffFactory())
    return client


def test_staff_refused_a_desk_page_get_the_desk_wording_and_a_link_back_to_the_desk(
    desk_without_refunds,
):
    response = desk_without_refunds.get(reverse("staffdesk:order_refund", args=["EP-2222-2222"]))

    page = response.content.decode()
    assert response.status_code == 403
    assert "needs a permission your staff account does not have" in page
    assert f'href="{reverse("staffdesk:home")}"' in page
    assert reverse("payments:account") not in page


@pytest.mark.parametrize("url", ["/desk/orders/EP-ZZZZ-ZZZZ/", "/desk/patrons/U-9999/"])
def test_a_missing_desk_page_speaks_to_staff_and_links_back_to_the_desk(desk_without_refunds, url):
    response = desk_without_refunds.get(url)

    page = response.content.decode()
    assert response.status_code == 404
    assert "Back to the desk" in page
    assert "someone else&#x27;s account" not in page
    assert reverse("payments:account") not in page


def test_staff_on_a_patrons_page_get_a_link_to_the_desk_not_to_an_account(desk_without_refunds):
    response = desk_without_refunds.get(reverse("payments:account"))

    page = response.content.decode()
    assert response.status_code == 404
    assert f'href="{reverse("staffdesk:home")}"' in page
    assert "Back to your account" not in page


def test_the_desk_error_page_speaks_german(desk_without_refunds):
    response = desk_without_refunds.get(
        "/desk/orders/EP-ZZZZ-ZZZZ/", headers={"accept-language": "de"}
    )

    assert "Zurück zur Theke" in response.content.decode()


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon(client):
    from django.contrib.staticfiles import finders

    page = client.get(reverse("accounts:login")).content.decode()

    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert finders.find("favicon.svg")
