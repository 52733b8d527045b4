"""The SAML sign-in's configuration: the IdP's metadata from a file or a URL, its signature
checked against the federation's certificate, the IdP picked from it, and the system check
of the settings (payments.E005), against the IdP the tests start (tests.accounts.saml_idp)."""

import pytest

from accounts.saml.config import forget_configuration
from tests.accounts.helpers import signed_in_patron
from tests.accounts.saml_idp import browser_sign_in, key_pair

pytestmark = pytest.mark.django_db

START = "/saml2/login/"


def test_unreadable_idp_metadata_gives_a_page_that_says_so(client, saml_idp, settings):
    settings.SAML_IDP_METADATA_FILE = str(saml_idp.metadata_file) + ".missing"
    forget_configuration()

    response = client.get(START)

    assert response.status_code == 503
    assert "The login service cannot be reached right now" in response.content.decode()


def test_metadata_signed_by_the_federation_is_taken(client, saml_idp, koha_patron, settings):
    saml_idp.sign_metadata("federation")
    settings.SAML_IDP_METADATA_CERT = key_pair("federation")[1]
    forget_configuration()

    browser_sign_in(client)

    assert signed_in_patron(client) is not None


@pytest.mark.parametrize("signer", [None, "another"])
def test_metadata_not_signed_by_the_federation_is_refused(
    client, saml_idp, settings, signer, caplog
):
    saml_idp.sign_metadata(signer)
    settings.SAML_IDP_METADATA_CERT = key_pair("federation")[1]
    forget_configuration()

    response = client.get(START)

    assert response.status_code == 503
    assert saml_idp.requests == []
    assert "is not signed by SAML_IDP_METADATA_CERT" in caplog.text


def test_metadata_is_read_from_a_url(client, saml_idp, koha_patron, settings):
    settings.SAML_IDP_METADATA_FILE = ""
    settings.SAML_IDP_METADATA_URL = saml_idp.metadata_url
    forget_configuration()

    browser_sign_in(client)

    assert saml_idp.requests[0] == "GET /metadata"
    assert signed_in_patron(client) is not None


def test_an_idp_named_that_the_metadata_lacks_gives_a_page_that_says_so(client, saml_idp, settings):
    settings.SAML_IDP_ENTITY_ID = "https://idp.other.example/idp/shibboleth"

    response = client.get(START)

    assert response.status_code == 503


def test_an_enabled_sign_in_without_its_settings_fails_the_system_check(settings):
    from payments.checks import saml_check

    settings.SIGN_IN_METHODS = ["saml"]
    settings.SAML_IDP_METADATA_FILE = ""
    settings.SAML_IDP_METADATA_URL = ""
    settings.SAML_SP_KEY_FILE = ""

    errors = saml_check(None)

    assert {error.id for error in errors} == {"payments.E005"}
    assert any("SAML_IDP_METADATA_URL" in error.msg for error in errors)
    assert any("SAML_SP_KEY_FILE" in error.msg for error in errors)


def test_a_portal_without_the_sign_in_passes_the_system_check(settings):
    from payments.checks import saml_check

    settings.SIGN_IN_METHODS = ["password"]
    settings.SAML_IDP_METADATA_FILE = ""

    assert saml_check(None) == []
