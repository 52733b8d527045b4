"""Card number and PIN checked by the library system: the sign-in backend named in
AUTHENTICATION_BACKENDS. A right PIN signs in the patron the library system names
(created here at the first sign-in, `patron_link`); the PIN itself goes to the library
system and nowhere else. Login throttling (django-axes, before this backend) counts a
wrong PIN; a library system that cannot say counts nothing (`SignInUnavailable`)."""

import logging

from accounts.backends import UsernameBackend
from accounts.cards import normalize_card_number
from accounts.signin import EXTERNAL_ID, LIBRARY_CARD, SignInUnavailable, is_enabled
from payments.library_systems import get_target
from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.pins import PinRefused
from payments.library_systems.reading import MalformedAnswer
from payments.services.patron_link import patron_of_identity

logger = logging.getLogger(__name__)

CHECK_ERRORS = (TransientError, PermanentError, MalformedAnswer)


def pin_target():
    """The portal's library-system target if it checks PINs and the library enables the
    sign-in; None otherwise."""
    if not is_enabled(LIBRARY_CARD):
        return None
    target = get_target()
    return target if target is not None and hasattr(target, "check_pin") else None


class LibraryCardBackend(UsernameBackend):
    def authenticate(self, request, card_number=None, password=None, **kwargs):
        # Django hides credentials named "password" from the failed-login signal's
        # receivers: the PIN travels under that name.
        if card_number is None or password is None:
            return None
        target = pin_target()
        if target is None:
            return None
        card = normalize_card_number(card_number)
        if not card or not password:
            return None
        try:
            external_id = target.check_pin(card, password)
        except PinRefused:
            return None
        except CHECK_ERRORS as error:
            logger.warning("The library system could not check a PIN for card %s: %s", card, error)
            raise SignInUnavailable from None
        patron = patron_of_identity(value=external_id, match=EXTERNAL_ID, target=target)
        if patron is None:
            return None
        user = patron.user
        return user if self.user_can_authenticate(user) else None
