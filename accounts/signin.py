"""The ways patrons sign in, as the library enables them (SIGN_IN_METHODS), and the
library's own words for them on the login page.

- ``library_card``: card number and PIN, checked by the library system
  (payments.library_systems.signin.LibraryCardBackend);
- ``saml``: single sign-on through a SAML 2 identity provider (a campus login, the
  DFN-AAI federation);
- ``oidc``: single sign-on through an OpenID Connect provider;
- ``password``: a password kept by the portal, for a library without any of the others
  and for the demo.

Single sign-on names the patron by one attribute or claim, matched to the patron's
library-system id, card number or user number (`IDENTITY_MATCHES`;
payments.services.patron_link.patron_of_identity). Staff always log in with their user
name and password.
"""

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

LIBRARY_CARD = "library_card"
SAML = "saml"
OIDC = "oidc"
PASSWORD = "password"
METHODS = (LIBRARY_CARD, SAML, OIDC, PASSWORD)
# The single sign-on methods: a button on the login page leading to the URL of this name.
SSO_START_URLS = {SAML: "saml2_login", OIDC: "oidc_authentication_init"}

DEFAULT_LABELS = {
    LIBRARY_CARD: _("Library card number and PIN"),
    SAML: _("University login"),
    OIDC: _("Single sign-on"),
    PASSWORD: _("Library card number and portal password"),
}

# What the single sign-on's attribute or claim is matched with.
EXTERNAL_ID = "external_id"  # the patron's id in the library system
CARD_NUMBER = "card_number"
USER_NUMBER = "user_number"  # the portal's user number (patrons the API sent)
IDENTITY_MATCHES = (EXTERNAL_ID, CARD_NUMBER, USER_NUMBER)


class SignInUnavailable(Exception):
    """Whoever checks the patron's credentials could not say (down, slow, or an answer
    that cannot be read): not a wrong password, and no failed attempt."""


class IdentityNotLinked(Exception):
    """Single sign-on named nobody (the claim is missing), or someone neither the portal
    nor the library system knows."""


def is_enabled(method: str) -> bool:
    return method in settings.SIGN_IN_METHODS


def method_label(method: str) -> str:
    """The library's own wording for the method in the reader's language
    (SIGN_IN_<METHOD>_LABEL_<LANGUAGE>), or ours."""
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return settings.SIGN_IN_LABELS.get(f"{method}.{language}") or str(DEFAULT_LABELS[method])


def identity_patron(*, value: str, match: str):
    """The patron single sign-on or a hand-off names (a Patron or None), found by the
    service SIGN_IN_PATRON_LOOKUP names, which may ask the library system: accounts
    itself knows nothing of library systems."""
    return import_string(settings.SIGN_IN_PATRON_LOOKUP)(value=value, match=match)
