"""The 403, 404 and 500 pages look like the portal and speak the patron's language.

Django renders them only with DEBUG off, which is how tests run."""

from unittest import mock

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from tests.factories import PatronFactory

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


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon(client):
    from django.contrib.staticfiles import finders

    page = client.get(reverse("accounts:login")).content.decode()

    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert finders.find("favicon.svg")
