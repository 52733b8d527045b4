"""Single sign-on through a SAML 2 identity provider: the sign-in backend named in
AUTHENTICATION_BACKENDS. The IdP's assertion, its signature, audience, lifetime and
InResponseTo already checked by pysaml2 (djangosaml2's ACS), names the patron by one
attribute (SAML_PATRON_ATTRIBUTE, its OID or its friendly name), matched as
SAML_PATRON_MATCH says (`accounts.signin.identity_patron`): a patron the library system
knows is created here at the first sign-in; nobody else is, and no Django user is made
from the assertion itself (SAML_CREATE_UNKNOWN_USER is False)."""

import functools
import logging

from django.conf import settings
from djangosaml2.backends import Saml2Backend
from saml2 import saml
from saml2.attribute_converter import ac_factory

from accounts.backends import UsernameBackend
from accounts.signin import SAML, IdentityNotLinked, identity_patron, is_enabled

logger = logging.getLogger(__name__)


class PatronSAMLBackend(Saml2Backend, UsernameBackend):
    def authenticate(self, request, session_info=None, **kwargs):
        """The patron the assertion's attribute names; IdentityNotLinked when it names
        nobody the library knows. Raises SignInUnavailable when the library system cannot
        say. Only djangosaml2's ACS calls it with `session_info`."""
        if request is None or not isinstance(session_info, dict) or not is_enabled(SAML):
            return None
        wanted = settings.SAML_PATRON_ATTRIBUTE
        value = attribute_value(session_info.get("ava") or {}, wanted)
        if value is None:
            logger.warning("The IdP %s sent no %r attribute", session_info.get("issuer"), wanted)
            raise IdentityNotLinked
        patron = identity_patron(value=value, match=settings.SAML_PATRON_MATCH)
        if patron is None:
            logger.info("Single sign-on named %r, whom nobody knows", value)
            raise IdentityNotLinked
        if not self.user_can_authenticate(patron.user):
            logger.info("Single sign-on named %r, whose account is closed", value)
            raise IdentityNotLinked
        return patron.user

    def get_user(self, user_id):
        return UsernameBackend.get_user(self, user_id)


def attribute_value(attributes: dict, wanted: str) -> str | None:
    """The attribute's first value, the attribute named by its OID, its URI or its
    friendly name (pysaml2 names the attributes it knows by the friendly name, the others
    by their name in lower case)."""
    names = attribute_names(wanted)
    for name, values in attributes.items():
        if name.lower() not in names:
            continue
        for value in values if isinstance(values, list | tuple) else [values]:
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


@functools.cache
def attribute_names(wanted: str) -> frozenset[str]:
    """`wanted` and its other names in pysaml2's attribute maps, in lower case."""
    names = {wanted.lower()}
    for converter in ac_factory():
        friendly = converter.from_format(saml.Attribute(name=wanted))
        if friendly:
            names.add(friendly.lower())
        formal = converter.to_format(wanted)
        if formal.name and formal.friendly_name:
            names.add(formal.name.lower())
    return frozenset(names)
