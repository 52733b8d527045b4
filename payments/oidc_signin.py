"""Single sign-on through an OpenID Connect provider: the sign-in backend named in
AUTHENTICATION_BACKENDS. The provider's verified ID token (or its userinfo) names the
patron by one claim (OIDC_PATRON_CLAIM), matched as OIDC_PATRON_MATCH says
(`patron_link.patron_of_identity`): a patron the library system knows is created here at
the first sign-in; nobody else is. The code flow itself, state, nonce and PKCE, is
mozilla-django-oidc's; accounts.oidc finds the provider's endpoints."""

import logging

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import oidc
from accounts.backends import UsernameBackend
from accounts.signin import OIDC, IdentityNotLinked, is_enabled
from payments.services.patron_link import patron_of_identity

logger = logging.getLogger(__name__)

# Seconds the portal's and the provider's clocks may differ by.
CLOCK_LEEWAY_SECONDS = 30
# The settings mozilla-django-oidc reads as the backend's attributes.
PROVIDER_SETTINGS = {
    "OIDC_OP_TOKEN_ENDPOINT": (),
    "OIDC_OP_USER_ENDPOINT": ("",),
    "OIDC_OP_JWKS_ENDPOINT": (),
    "OIDC_RP_CLIENT_ID": (),
    "OIDC_RP_CLIENT_SECRET": (),
    "OIDC_RP_SIGN_ALGO": ("RS256",),
    "OIDC_RP_IDP_SIGN_KEY": (None,),
}


class PatronOIDCBackend(OIDCAuthenticationBackend, UsernameBackend):
    get_settings = staticmethod(oidc.setting)

    def __init__(self, *args, **kwargs):
        # Django makes its backends for every sign-in and every signed-in request: the
        # provider's endpoints are looked up when a sign-in needs them, not here.
        self.UserModel = get_user_model()

    def __getattr__(self, name):
        if name in PROVIDER_SETTINGS:
            return oidc.setting(name, *PROVIDER_SETTINGS[name])
        raise AttributeError(name)

    def authenticate(self, request, **kwargs):
        # Only the OpenID callback's call (it passes the nonce), when the library enables it.
        if request is None or "nonce" not in kwargs or not is_enabled(OIDC):
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        return UsernameBackend.get_user(self, user_id)

    def get_payload_data(self, token, key):
        """The ID token's claims, its signature, audience, issuer and lifetime checked."""
        issuer = self.get_settings("OIDC_OP_ISSUER", None)
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer or None,
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.InvalidTokenError as error:
            raise SuspiciousOperation(f"The ID token is refused: {error}") from error

    def get_or_create_user(self, access_token, id_token, payload):
        """The patron the claim names; IdentityNotLinked when it names nobody the library
        knows. Raises SignInUnavailable when the library system cannot say."""
        claim = settings.OIDC_PATRON_CLAIM
        value = self.claim_value(claim, access_token, id_token, payload)
        if value is None:
            logger.warning("The OpenID provider sent no %r claim for %r", claim, payload["sub"])
            raise IdentityNotLinked
        patron = patron_of_identity(value=value, match=settings.OIDC_PATRON_MATCH)
        if patron is None:
            logger.info("Single sign-on named %r, whom nobody knows", value)
            raise IdentityNotLinked
        user = patron.user
        return user if self.user_can_authenticate(user) else None

    def claim_value(self, claim, access_token, id_token, payload) -> str | None:
        """The claim from the ID token, or else from the provider's userinfo (about the
        same subject)."""
        value = payload.get(claim)
        if value is None and self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") == payload["sub"]:
                value = userinfo.get(claim)
            else:
                logger.warning("The OpenID provider's userinfo is about another subject")
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        value = str(value).strip()
        return value or None
