"""Single sign-on through a real SAML 2 identity provider (tests.accounts.saml_idp, on
127.0.0.1): the Django test client is the browser, `requests` takes it to the IdP, whose
signed response the browser posts back to the portal's ACS; the portal's backend
(payments.saml_signin) asks the (fake) Koha for the patron the attribute names."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Patron
from tests.accounts.helpers import signed_in_patron
from tests.accounts.saml_idp import (
    ACS_PATH,
    back_to_portal,
    browser_sign_in,
    follow_logout,
    to_idp,
)
from tests.factories import PatronFactory
from tests.library_systems.fake_server import Reply

pytestmark = pytest.mark.django_db

START = "/saml2/login/"
METADATA = "/saml2/metadata/"


def test_the_portals_metadata_names_its_acs_and_certificate(client, saml_idp):
    response = client.get(METADATA)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    metadata = response.content.decode()
    assert 'entityID="http://testserver/saml2/metadata/"' in metadata
    assert 'Location="http://testserver/saml2/acs/"' in metadata
    assert "X509Certificate" in metadata
    assert 'WantAssertionsSigned="true"' in metadata


def test_the_login_button_leads_to_the_idp(client, saml_idp):
    page = client.get("/login/").content.decode()
    assert f'href="{START}"' in page

    response = client.get(START)

    assert response.status_code == 302
    assert response.url.startswith(f"{saml_idp.url}/sso?SAMLRequest=")


def test_the_idp_gets_a_signed_authn_request_from_the_portal(client, saml_idp, koha_patron):
    start = client.get(START)

    query = parse_qs(urlsplit(start.url).query)
    assert query["Signature"]
    browser_sign_in(client)
    asked = saml_idp.authn_requests[-1]
    assert asked.issuer.text == "http://testserver/saml2/metadata/"
    assert asked.assertion_consumer_service_url == "http://testserver/saml2/acs/"


def test_a_signed_assertion_naming_a_known_patron_signs_in(client, saml_idp, koha_patron):
    response = browser_sign_in(client)

    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    assert client.get(response.url).url == reverse("payments:account")
    patron = signed_in_patron(client)
    assert patron.external_id == "42"
    assert patron.last_name == "Muster"


def test_the_idps_post_is_taken_without_the_portals_csrf_token(saml_idp, koha_patron):
    browser = Client(enforce_csrf_checks=True)

    response = browser_sign_in(browser)

    assert response.status_code == 302
    assert signed_in_patron(browser).external_id == "42"


def test_the_session_key_changes_at_sign_in(client, saml_idp, koha_patron):
    fields = to_idp(client)
    client.get("/login/")  # the portal's session, before the sign-in
    before = client.session.session_key

    back_to_portal(client, fields)

    assert client.session.session_key != before
    assert signed_in_patron(client) is not None


def test_a_sign_in_goes_on_to_next(client, saml_idp, koha_patron):
    response = browser_sign_in(client, next="/orders/")

    assert response.url == "/orders/"


def test_the_attribute_may_be_named_by_its_friendly_name(client, saml_idp, koha_patron, settings):
    settings.SAML_PATRON_ATTRIBUTE = "eduPersonPrincipalName"

    browser_sign_in(client)

    assert signed_in_patron(client).external_id == "42"


def test_the_attribute_may_name_the_patron_by_card_number(client, saml_idp, settings):
    patron = PatronFactory(card_number="1000000042")
    saml_idp.users["erika"]["eduPersonPrincipalName"] = ["1000000042"]
    settings.SAML_PATRON_MATCH = "card_number"

    browser_sign_in(client)

    assert signed_in_patron(client) == patron


def test_an_assertion_signed_by_another_key_is_refused(client, saml_idp, koha_patron, caplog):
    saml_idp.signing_key = "another"

    response = browser_sign_in(client)

    assert response.status_code == 400
    assert "The login did not work" in response.content.decode()
    assert signed_in_patron(client) is None
    assert not Patron.objects.exists()
    assert "A SAML sign-in is refused: Failed to verify signature" in caplog.text


def test_an_unsigned_assertion_is_refused(client, saml_idp, koha_patron, caplog):
    saml_idp.signed = False

    response = browser_sign_in(client)

    assert response.status_code == 400
    assert signed_in_patron(client) is None
    assert not Patron.objects.exists()
    assert "Signature missing for assertion" in caplog.text


def test_an_expired_assertion_is_refused(client, saml_idp, koha_patron, caplog):
    saml_idp.issue_expired_assertions()

    response = browser_sign_in(client)

    assert response.status_code == 400
    assert signed_in_patron(client) is None
    assert not Patron.objects.exists()
    assert "A SAML sign-in is refused: Condition not OK" in caplog.text


def test_a_response_posted_again_is_refused(client, saml_idp, koha_patron, caplog):
    fields = to_idp(client)
    back_to_portal(client, fields)
    client.post(reverse("accounts:logout"))

    response = back_to_portal(client, fields)

    assert response.status_code == 400
    assert signed_in_patron(client) is None
    assert "Unsolicited response" in caplog.text


def test_a_response_posted_from_another_browser_is_refused(client, saml_idp, koha_patron):
    from django.test import Client

    fields = to_idp(client)
    other = Client()

    response = back_to_portal(other, fields)

    assert response.status_code == 400
    assert signed_in_patron(other) is None
    assert not Patron.objects.exists()
    assert back_to_portal(client, fields).status_code == 302  # still the patron's own


def test_a_response_from_another_idp_of_the_federation_is_refused(
    client, saml_idp, koha_patron, settings, monkeypatch
):
    from accounts.saml import config

    fields = to_idp(client)
    # The library's IdP is another one than the IdP that answers.
    monkeypatch.setattr(config, "identity_provider", lambda conf: "https://idp.other.example")

    response = back_to_portal(client, fields)

    assert response.status_code == 400
    assert signed_in_patron(client) is None


def test_a_missing_attribute_leads_to_the_not_linked_page(client, saml_idp, koha, settings):
    settings.SAML_PATRON_ATTRIBUTE = "urn:oasis:names:tc:SAML:attribute:pairwise-id"

    response = browser_sign_in(client)

    assert response.url == reverse("accounts:not_linked")
    assert client.get(response.url).status_code == 403
    assert signed_in_patron(client) is None


def test_an_attribute_naming_no_patron_leads_to_the_not_linked_page(client, saml_idp, koha):
    response = browser_sign_in(client)

    assert response.url == reverse("accounts:not_linked")
    page = client.get(response.url)
    assert "Not linked to a library card" in page.content.decode()
    assert signed_in_patron(client) is None
    assert not Patron.objects.exists()


def test_a_library_system_that_cannot_say_gives_a_page_that_says_so(
    client, saml_idp, koha_patron, settings
):
    settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 0.5
    koha_patron.server.route("GET", r"/api/v1/patrons/(\d+)(/account)?", Reply(hang=True))

    response = browser_sign_in(client)

    assert response.status_code == 503
    assert "The library system cannot be reached right now" in response.content.decode()
    assert signed_in_patron(client) is None


def test_logout_ends_the_session_and_the_idps(client, saml_idp, koha_patron):
    browser_sign_in(client)

    response = client.post(reverse("accounts:logout"))

    assert "_auth_user_id" not in client.session
    assert response.url.startswith(f"{saml_idp.url}/slo?SAMLRequest=")
    back = follow_logout(client, response)
    assert back.status_code == 302
    assert back.url == reverse("accounts:login")
    assert len(saml_idp.logout_requests) == 1


def test_logout_without_single_logout_at_the_idp_stays_on_the_portal(
    client, tmp_path, settings, koha_patron
):
    from django.test import Client

    from accounts.saml.config import forget_configuration
    from tests.accounts.saml_idp import SAMLIdentityProvider, key_pair

    with SAMLIdentityProvider(tmp_path, single_logout=False) as idp:
        settings.SIGN_IN_METHODS = ["saml"]
        settings.SAML_IDP_METADATA_FILE = str(idp.metadata_file)
        settings.SAML_SP_KEY_FILE, settings.SAML_SP_CERT_FILE = key_pair("portal")
        forget_configuration()
        idp.trust(Client().get(METADATA).content.decode())
        browser_sign_in(client)

        response = client.post(reverse("accounts:logout"))

    forget_configuration()
    assert response.url == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_logout_after_a_password_login_stays_on_the_portal(client, saml_idp):
    client.force_login(PatronFactory().user)

    response = client.post(reverse("accounts:logout"))

    assert response.url == reverse("accounts:login")
    assert saml_idp.requests == []


def test_the_login_page_shows_the_saml_button_in_the_librarys_words(client, settings):
    settings.SIGN_IN_METHODS = ["saml", "password"]
    settings.SIGN_IN_LABELS = {"saml.en": "Campus login"}

    page = client.get("/login/?next=/orders/").content.decode()

    assert "Campus login" in page
    assert f'href="{START}?next=%2Forders%2F"' in page


def test_the_sign_in_is_not_there_when_the_library_does_not_enable_it(client, settings):
    settings.SIGN_IN_METHODS = ["password"]

    assert client.get(START).status_code == 404
    assert client.get(METADATA).status_code == 404
    assert client.post(ACS_PATH, {"SAMLResponse": "x"}).status_code == 404


def test_a_sign_in_counts_no_failed_login(client, saml_idp, koha):
    from axes.models import AccessAttempt

    browser_sign_in(client)

    assert not AccessAttempt.objects.exists()


def test_a_patron_locked_out_of_password_logins_can_still_sign_in(
    client, saml_idp, koha_patron, settings
):
    settings.AXES_FAILURE_LIMIT = 1
    client.post(reverse("accounts:login"), {"username": "1000000042", "password": "wrong"})

    browser_sign_in(client)

    assert signed_in_patron(client) is not None
