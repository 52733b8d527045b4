"""Crafted requests to the sign-in and password pages: never a server error, never a
redirect off the portal, nothing written by a request that is refused."""

import pytest
from django.urls import reverse

from accounts.models import HandoffUse, PasswordResetRequest, Patron

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
RESET = reverse("accounts:password_reset")

CRAFTED_LOGINS = [
    {},
    {"method": "library_card"},
    {"method": "library_card", "username": "1\x00", "password": "x"},
    {"method": "library_card", "username": "9" * 5000, "password": "1" * 5000},
    {"method": "carrier_pigeon", "username": "a", "password": "b"},
    {"method": ["library_card", "password"], "username": "a", "password": "b"},
    {"username": "\x00", "password": "\x00"},
    {"username": "ä" * 200, "password": "", "next": "https://evil.example/"},
]


@pytest.mark.parametrize("data", CRAFTED_LOGINS)
@pytest.mark.parametrize("methods", [["password"], ["library_card", "password"]])
def test_a_crafted_login_is_answered_without_an_error_or_a_session(
    client, koha, settings, data, methods
):
    settings.SIGN_IN_METHODS = methods

    response = client.post(LOGIN, data)

    assert response.status_code in (200, 400)
    assert "_auth_user_id" not in client.session
    assert not Patron.objects.exists()


@pytest.mark.parametrize("typed", ["", "\x00", "x" * 300, " "])
def test_a_crafted_reset_request_writes_nothing(client, typed):
    response = client.post(RESET, {"email": typed})

    assert response.status_code == 200  # the form again, with its message
    assert not PasswordResetRequest.objects.exists()


@pytest.mark.parametrize(
    ("uidb64", "token"),
    [("AAAA", "set-password"), ("MQ", "x" * 200), ("%00", "abc"), ("MTAwMDAwMDAwMDAwMDA", "a-b")],
)
def test_a_crafted_reset_link_is_a_page_saying_the_link_is_not_valid(client, uidb64, token):
    url = reverse("accounts:password_reset_confirm", args=[uidb64, token])

    response = client.get(url, follow=True)

    assert response.status_code == 200
    assert "has already been used or has expired" in response.content.decode()


CRAFTED_HANDOFFS = [
    {},
    {"patron": "42"},
    {"patron": "42", "expires": "soon", "nonce": "n", "signature": "zz"},
    {"patron": "42", "expires": "9" * 400, "nonce": "n", "signature": "0" * 64},
    {"patron": "\x00", "expires": "1", "nonce": "\x00", "signature": "\x00"},
    {"patron": ["1", "2"], "expires": "1", "nonce": "n", "signature": "0" * 64},
    {"jwt": ""},
    {"jwt": "a.b.c"},
    {"jwt": "eyJhbGciOiJub25lIn0.eyJ1c2VyIjoiNDIifQ."},
    {"jwt": "x" * 10_000, "return": "https://evil.example/"},
]


@pytest.mark.parametrize("params", CRAFTED_HANDOFFS)
def test_a_crafted_hand_off_is_refused_without_an_error_or_a_session(client, settings, params):
    settings.HANDOFF_SECRET = "catalogue-and-portal-share-this"
    settings.HANDOFF_JWKS_URL = "http://127.0.0.1:9/jwks.json"  # refused: no key is trusted

    response = client.get(reverse("accounts:handoff"), params)

    assert response.status_code in (400, 403, 503)
    assert "_auth_user_id" not in client.session
    assert not HandoffUse.objects.exists()
    assert not Patron.objects.exists()


CRAFTED_CALLBACKS = [
    {},
    {"code": "a"},
    {"code": "a", "state": "b"},
    {"error": "access_denied", "state": "b"},
    {"code": "\x00", "state": "\x00"},
    {"code": "x" * 5000, "state": "y" * 5000},
]


@pytest.mark.parametrize("params", CRAFTED_CALLBACKS)
def test_a_crafted_sign_on_callback_is_refused_without_an_error_or_a_session(
    client, oidc_provider, params
):
    response = client.get(reverse("oidc_authentication_callback"), params)

    assert 300 <= response.status_code < 500
    assert not response.has_header("Location") or response["Location"].startswith("/")
    assert "_auth_user_id" not in client.session
    assert not Patron.objects.exists()


SAML_ACS = "/saml2/acs/"
SAML_ENDPOINTS = ["/saml2/login/", SAML_ACS, "/saml2/ls/", "/saml2/ls/post/", "/saml2/metadata/"]
CRAFTED_SAML_RESPONSES = [
    {},
    {"SAMLResponse": ""},
    {"SAMLResponse": "not base64 at all \x00"},
    {"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4="},  # <samlp:Response/>
    {"SAMLResponse": "PD94bWwgdmVyc2lvbj0iMS4wIj8+PCFET0NUWVBFIHg+PHg+JmE7PC94Pg=="},
    {"SAMLResponse": "A" * 20000, "RelayState": "https://evil.example/"},
    {"SAMLResponse": ["a", "b"], "RelayState": "//evil.example/"},
]


@pytest.mark.parametrize("data", CRAFTED_SAML_RESPONSES)
def test_a_crafted_saml_response_is_refused_without_an_error_or_a_session(
    client, saml_idp, koha, data
):
    response = client.post(SAML_ACS, data)

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert not Patron.objects.exists()


@pytest.mark.parametrize("endpoint", SAML_ENDPOINTS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_saml_endpoint_asked_with_garbage_answers_without_a_server_error(
    client, saml_idp, endpoint, method
):
    garbage = {"SAMLRequest": "%%%", "SAMLResponse": "x", "RelayState": "https://evil.example/"}

    response = getattr(client, method)(endpoint, garbage)

    assert response.status_code < 500
    assert "evil.example" not in response.get("Location", "")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "relay_state", [None, "", "https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_a_saml_sign_in_with_a_missing_or_off_site_relay_state_stays_on_the_portal(
    client, saml_idp, koha, relay_state
):
    from tests.accounts.saml_idp import back_to_portal, to_idp

    koha.add_patron(42, "1000000042", "Muster", firstname="Erika")
    fields = to_idp(client)

    response = back_to_portal(client, fields, RelayState=relay_state)

    assert response.status_code == 302
    assert response.url == reverse("accounts:home")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_a_saml_sign_in_started_with_an_off_site_next_stays_on_the_portal(
    client, saml_idp, koha, target
):
    from tests.accounts.saml_idp import browser_sign_in

    koha.add_patron(42, "1000000042", "Muster", firstname="Erika")

    response = browser_sign_in(client, next=target)

    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
