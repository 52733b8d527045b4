"""The ways patrons sign in, as the library enables them (SIGN_IN_METHODS), and the
library's own words for them on the login page.

- ``library_card``: card number and PIN, checked by the library system
  (payments.library_systems.signin.LibraryCardBackend);
- ``password``: a password kept by the portal, for a library without any of the others
  and for the demo.

Staff always log in with their user name and password.
"""

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

LIBRARY_CARD = "library_card"
PASSWORD = "password"
METHODS = (LIBRARY_CARD, PASSWORD)

DEFAULT_LABELS = {
    LIBRARY_CARD: _("Library card number and PIN"),
    PASSWORD: _("Library card number and portal password"),
}


class SignInUnavailable(Exception):
    """Whoever checks the patron's credentials could not say (down, slow, or an answer
    that cannot be read): not a wrong password, and no failed attempt."""


def is_enabled(method: str) -> bool:
    return method in settings.SIGN_IN_METHODS


def method_label(method: str) -> str:
    """The library's own wording for the method in the reader's language
    (SIGN_IN_<METHOD>_LABEL_<LANGUAGE>), or ours."""
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return settings.SIGN_IN_LABELS.get(f"{method}.{language}") or str(DEFAULT_LABELS[method])
