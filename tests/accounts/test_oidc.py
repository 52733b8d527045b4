"""Single sign-on through a real OpenID provider (tests.accounts.oidc_provider, on
127.0.0.1): the Django test client is the browser, `requests` takes it to the provider,
and the portal's backend (payments.oidc_signin) asks the provider for the token over
HTTP and the (fake) Koha for the patron the claim names."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import Patron
from tests.accounts.helpers import signed_in_patron
from tests.accounts.oidc_provider import (
    CLIENT_ID,
    back_to_portal,
    browser_sign_in,
    signing_key,
    to_provider,
)
from tests.factories import PatronFactory
from tests.library_systems.fake_server import Reply, closed_port_url

pytestmark = pytest.mark.django_db

START = "/oidc/authenticate/"


def test_a_right_sign_in_lands_the_patron_on_their_account(client, oidc_provider, koha_patron):
    response = browser_sign_in(client)

    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    assert client.get(response.url).url == reverse("payments:account")
    patron = signed_in_patron(client)
    assert patron.external_id == "42"
    assert patron.last_name == "Muster"


def test_the_portal_asks_with_pkce_state_and_nonce(client, oidc_provider, koha_patron):
    browser_sign_in(client)

    asked = oidc_provider.authorizations[0]
    assert asked["code_challenge_method"] == "S256"
    assert asked["code_challenge"]
    assert asked["state"]
    assert asked["nonce"]
    assert asked["client_id"] == CLIENT_ID


def test_the_token_is_fetched_from_the_providers_token_endpoint(client, oidc_provider, koha_patron):
    browser_sign_in(client)

    assert "POST /token" in oidc_provider.requests
    assert "GET /jwks" in oidc_provider.requests


def test_the_session_key_changes_at_sign_in(client, oidc_provider, koha_patron):
    callback = to_provider(client, START)
    before = client.session.session_key

    back_to_portal(client, callback)

    assert client.session.session_key != before
    assert signed_in_patron(client) is not None


def test_a_sign_in_goes_on_to_next(client, oidc_provider, koha_patron):
    response = browser_sign_in(client, next="/orders/")

    assert response.url == "/orders/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/orders/", "http://testserver.evil/"]
)
def test_next_to_another_host_is_not_followed(client, oidc_provider, koha_patron, target):
    response = browser_sign_in(client, next=target)

    assert response.url == reverse("accounts:home")
    assert signed_in_patron(client) is not None


def test_a_wrong_state_is_refused(client, oidc_provider, koha_patron):
    callback = to_provider(client, START)

    response = back_to_portal(client, callback, state="forged-state")

    assert response.status_code == 400
    assert "The login did not work" in response.content.decode()
    assert signed_in_patron(client) is None


def test_a_callback_without_a_started_sign_in_is_refused(client, oidc_provider):
    response = client.get("/oidc/callback/", {"code": "abc", "state": "xyz"})

    assert response.status_code == 400
    assert signed_in_patron(client) is None


def test_a_wrong_nonce_in_the_id_token_is_refused(client, oidc_provider, koha_patron, caplog):
    oidc_provider.nonce = "another-nonce"

    response = browser_sign_in(client)

    assert response.status_code == 400
    assert signed_in_patron(client) is None
    assert "Nonce verification failed" in caplog.text


def test_an_id_token_signed_by_another_key_is_refused(client, oidc_provider, koha_patron, caplog):
    oidc_provider.sign_with(signing_key("another"))

    response = browser_sign_in(client)

    assert response.status_code == 400
    assert signed_in_patron(client) is None
    assert "Signature verification failed" in caplog.text


def test_an_expired_id_token_is_refused(client, oidc_provider, koha_patron, caplog):
    oidc_provider.issue_expired_tokens()

    response = browser_sign_in(client)

    assert response.status_code == 400
    assert signed_in_patron(client) is None
    assert "Signature has expired" in caplog.text


def test_an_id_token_from_another_issuer_is_refused(
    client, oidc_provider, koha_patron, settings, caplog
):
    settings.OIDC_OP_ISSUER = "https://login.another.example"

    response = browser_sign_in(client)

    assert response.status_code == 400
    assert signed_in_patron(client) is None
    assert "Invalid issuer" in caplog.text


def test_a_missing_claim_leads_to_the_not_linked_page(client, oidc_provider, settings):
    settings.OIDC_PATRON_CLAIM = "library_card"

    response = browser_sign_in(client)

    assert response.url == reverse("accounts:not_linked")
    assert client.get(response.url).status_code == 403
    assert signed_in_patron(client) is None


def test_a_claim_naming_no_patron_leads_to_the_not_linked_page(client, oidc_provider, koha):
    response = browser_sign_in(client)

    assert response.url == reverse("accounts:not_linked")
    page = client.get(response.url)
    assert page.status_code == 403
    assert "Not linked to a library card" in page.content.decode()
    assert signed_in_patron(client) is None
    assert not Patron.objects.exists()


def test_a_claim_from_userinfo_names_the_patron_by_card_number(client, oidc_provider, settings):
    patron = PatronFactory(card_number="1000000042")
    settings.OIDC_PATRON_CLAIM = "preferred_username"
    settings.OIDC_PATRON_MATCH = "card_number"
    settings.OIDC_RP_SCOPES = "openid profile"

    browser_sign_in(client)

    assert "GET /userinfo" in oidc_provider.requests
    assert signed_in_patron(client) == patron


def test_a_library_system_that_cannot_say_gives_a_page_that_says_so(
    client, oidc_provider, koha_patron, settings
):
    settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 0.5
    koha_patron.server.route("GET", r"/api/v1/patrons/(\d+)(/account)?", Reply(hang=True))

    response = browser_sign_in(client)

    assert response.status_code == 503
    assert "The library system cannot be reached right now" in response.content.decode()
    assert signed_in_patron(client) is None


def test_an_unreachable_provider_gives_a_page_that_says_so(client, oidc_provider, settings):
    settings.OIDC_DISCOVERY_URL = closed_port_url() + "/.well-known/openid-configuration"

    response = client.get(START)

    assert response.status_code == 503
    assert "The login service cannot be reached right now" in response.content.decode()


def test_the_provider_saying_no_is_no_sign_in(client, oidc_provider):
    callback = to_provider(client, START)
    state = parse_qs(urlsplit(callback).query)["state"][0]

    response = client.get("/oidc/callback/", {"error": "access_denied", "state": state})

    assert response.status_code == 400
    assert signed_in_patron(client) is None


def test_logout_ends_the_session_and_goes_on_to_the_providers_logout(
    client, oidc_provider, koha_patron
):
    browser_sign_in(client)

    response = client.post(reverse("accounts:logout"))

    assert "_auth_user_id" not in client.session
    ending = urlsplit(response.url)
    assert f"{ending.scheme}://{ending.netloc}{ending.path}" == f"{oidc_provider.url}/logout"
    query = parse_qs(ending.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/"]
    assert query["id_token_hint"]


def test_logout_after_a_password_login_stays_on_the_portal(client, oidc_provider):
    client.force_login(PatronFactory().user)

    response = client.post(reverse("accounts:logout"))

    assert response.url == reverse("accounts:login")


def test_the_login_page_shows_the_oidc_button_in_the_librarys_words(client, settings):
    settings.SIGN_IN_METHODS = ["oidc", "password"]
    settings.SIGN_IN_LABELS = {"oidc.en": "City login"}

    page = client.get("/login/?next=/orders/").content.decode()

    assert "City login" in page
    assert 'href="/oidc/authenticate/?next=%2Forders%2F"' in page


def test_the_sign_in_is_not_there_when_the_library_does_not_enable_it(client, settings):
    settings.SIGN_IN_METHODS = ["password"]

    assert client.get(START).status_code == 404
    assert client.get("/oidc/callback/", {"code": "a", "state": "b"}).status_code == 404


def test_password_logins_do_not_ask_the_provider(client, oidc_provider):
    from tests.factories import PASSWORD

    patron = PatronFactory(card_number="1234567890")

    client.post(reverse("accounts:login"), {"username": "1234567890", "password": PASSWORD})

    assert signed_in_patron(client) == patron
    assert oidc_provider.requests == []


def test_a_sign_in_naming_nobody_counts_no_failed_login(client, oidc_provider, koha):
    from axes.models import AccessAttempt

    browser_sign_in(client)

    assert not AccessAttempt.objects.exists()


def test_an_enabled_sign_in_without_its_settings_fails_the_system_check(settings):
    from payments.checks import oidc_check

    settings.SIGN_IN_METHODS = ["oidc"]
    settings.OIDC_DISCOVERY_URL = ""
    settings.OIDC_RP_CLIENT_ID = ""

    errors = oidc_check(None)

    assert {error.id for error in errors} == {"payments.E004"}
    assert any("OIDC_RP_CLIENT_ID" in error.msg for error in errors)


def test_a_portal_without_the_sign_in_passes_the_system_check(settings):
    from payments.checks import oidc_check

    settings.SIGN_IN_METHODS = ["password"]
    settings.OIDC_RP_CLIENT_ID = ""

    assert oidc_check(None) == []
