import importlib

import pytest
from django.apps import apps
from django.db import connection

from tests.factories import DeskStaffFactory


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _library_settings(settings):
    settings.LIBRARY_CURRENCY = "EUR"
    settings.TIME_ZONE = "Europe/Berlin"
    settings.LANGUAGE_CODE = "en"
    # The real hasher costs ~0.3 s per password; tests don't test its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    return DeskStaffFactory(username="desk7")


@pytest.fixture
def desk_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def _default_fee_types(request):
    """The fee types the data migration creates. A transactional test's flush empties the
    table, so they are put back for each test that uses the database."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    if not apps.get_model("fees", "FeeKind").objects.exists():
        migration = importlib.import_module("fees.migrations.0004_fee_kinds")
        migration.create_default_fee_types(apps, None)


@pytest.fixture
def saml_idp(settings, db, tmp_path):
    """Single sign-on through a real SAML 2 IdP on 127.0.0.1 (pysaml2), which signs in the
    eduPersonPrincipalName "42": the portal's service provider configured for it from its
    metadata file, and the IdP knowing the portal from the portal's metadata."""
    from django.test import Client

    from accounts.saml.config import forget_configuration
    from tests.accounts.saml_idp import SAMLIdentityProvider, key_pair

    with SAMLIdentityProvider(tmp_path) as idp:
        key_file, cert_file = key_pair("portal")
        settings.SIGN_IN_METHODS = ["saml", "password"]
        settings.SAML_IDP_METADATA_FILE = str(idp.metadata_file)
        settings.SAML_IDP_METADATA_URL = ""
        settings.SAML_IDP_METADATA_CERT = ""
        settings.SAML_IDP_ENTITY_ID = ""
        settings.SAML_SP_ENTITY_ID = ""
        settings.SAML_SP_KEY_FILE = key_file
        settings.SAML_SP_CERT_FILE = cert_file
        settings.SAML_PATRON_ATTRIBUTE = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
        settings.SAML_PATRON_MATCH = "external_id"
        forget_configuration()
        idp.trust(Client().get("/saml2/metadata/").content.decode())
        yield idp
        forget_configuration()


@pytest.fixture
def koha(settings):
    """The portal reads fees live from a (fake) Koha, which knows the patron as number 42."""
    from tests.library_systems.koha_library import KohaLibrary

    with KohaLibrary() as library:
        settings.LIBRARY_SYSTEM_TARGET = "koha"
        settings.LIBRARY_SYSTEM_URL = library.url
        settings.LIBRARY_SYSTEM_USER = "portal"
        settings.LIBRARY_SYSTEM_PASSWORD = "secret"
        # Roomy for a loaded machine, where the fake's checks of each request and answer
        # against Koha's description take their time; tests of a slow Koha set their own.
        settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 3
        yield library
        assert library.server.violations == []


@pytest.fixture
def koha_patron(koha):
    """Koha knows patron 42, Erika Muster (card and PIN as tests.accounts.helpers has them),
    owing 7.50 ("Overdue: Faust I"); the portal knows nobody yet."""
    from tests.accounts.helpers import CARD, PIN

    koha.add_patron(42, CARD, "Muster", firstname="Erika", email="erika@example.org")
    koha.patrons[42].pin = PIN
    koha.add_fee(42, 750, description="Overdue: Faust I")
    return koha


@pytest.fixture
def linked_patron(koha):
    """A patron the library system knows (Koha patron 42), with the same data there."""
    from tests.factories import PatronFactory

    patron = PatronFactory(external_id="42", email="patron@example.org")
    koha.add_patron(42, patron.card_number, patron.last_name, firstname=patron.first_name,
                    email=patron.email)  # fmt: skip
    return patron


@pytest.fixture
def oidc_provider(settings):
    """Single sign-on through a real OpenID provider on 127.0.0.1 (pyop), which signs in the
    claim `sub` "42": the portal's OpenID client configured for it from its discovery."""
    from accounts.oidc import forget_discovery
    from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, OpenIDProvider

    with OpenIDProvider() as provider:
        settings.SIGN_IN_METHODS = ["oidc", "password"]
        settings.OIDC_DISCOVERY_URL = provider.discovery_url
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_PATRON_CLAIM = "sub"
        settings.OIDC_PATRON_MATCH = "external_id"
        settings.OIDC_TIMEOUT = 5
        forget_discovery()
        yield provider
        forget_discovery()
