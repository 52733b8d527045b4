"""The catalogue's "Pay fees" link: the patron arrives signed in, once, for a short while.

Two kinds of link, each switched on by its setting:

- a link any OPAC or discovery system can build (Aleph's payment URL, Koha, VuFind):
  ``/handoff/?patron=…&expires=…&nonce=…&return=…&signature=…``, the signature being the
  hex HMAC-SHA256, keyed with HANDOFF_SECRET, of ``patron|expires|nonce|return``
  (``expires`` in Unix seconds, at most HANDOFF_MAX_AGE_SECONDS ahead; ``return`` may be
  empty). The README shows how to make one in a few lines of shell.
- Primo VE's "Pay Fine" link, ``/handoff/?jwt=…``: a JWT signed RS256 with a key of the
  institution's key set (HANDOFF_JWKS_URL, fetched and cached; a key the cache does not
  know makes it fetch the set again, so rotated keys are picked up), ``exp`` and ``iat``
  checked with HANDOFF_LEEWAY_SECONDS of clock difference, the patron in the claim
  HANDOFF_JWT_PATRON_CLAIM (``user``).

Either works once: its nonce (or the token itself) is kept until it expires
(`HandoffUse`). A ``return`` address is accepted only on HANDOFF_RETURN_HOSTS.
"""

import datetime
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import HandoffUse

# The secret of the demo's .env (manage.py handoff_link): refused outside development.
DEMO_SECRET = "demo-catalogue-link-not-for-production"
# Where the session keeps the hand-off's way back to the catalogue.
CATALOGUE_RETURN = "catalogue_return"


class HandoffRefused(Exception):
    """The link signs nobody in; the message says why, for the log (not for the patron)."""


@dataclass(frozen=True)
class Handoff:
    patron: str  # the patron as HANDOFF_PATRON_MATCH reads it
    return_url: str  # the way back to the catalogue ("" for none)
    expires_at: datetime.datetime
    once: str  # what makes this link one link: kept until it expires


def link_signature(*, patron: str, expires: str, nonce: str, return_url: str, secret: str) -> str:
    message = "|".join((patron, expires, nonce, return_url)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def link_query(*, patron: str, return_url: str = "", lifetime: int | None = None) -> str:
    """The query of a signed link for `patron`, as a catalogue makes it (for trying a
    catalogue's set-up, and the demo): expiring in `lifetime` seconds, at most
    HANDOFF_MAX_AGE_SECONDS."""
    if not settings.HANDOFF_SECRET:
        raise HandoffRefused("signed links are not enabled (no HANDOFF_SECRET)")
    lifetime = min(lifetime or settings.HANDOFF_MAX_AGE_SECONDS, settings.HANDOFF_MAX_AGE_SECONDS)
    expires, nonce = str(int(time.time()) + lifetime), secrets.token_hex(16)
    signature = link_signature(patron=patron, expires=expires, nonce=nonce,
                               return_url=return_url, secret=settings.HANDOFF_SECRET)  # fmt: skip
    return urlencode({"patron": patron, "expires": expires, "nonce": nonce,
                      "return": return_url, "signature": signature})  # fmt: skip


def link_verified(params) -> Handoff:
    """The hand-off a signed link's query parameters carry. Raises HandoffRefused."""
    secret = settings.HANDOFF_SECRET
    if not secret:
        raise HandoffRefused("signed links are not enabled (no HANDOFF_SECRET)")
    patron, expires, nonce, signature = (
        params.get(name, "") for name in ("patron", "expires", "nonce", "signature")
    )
    return_url = params.get("return", "")
    if not (patron and expires and nonce and signature):
        raise HandoffRefused("a part of the link is missing")
    if not expires.isdigit() or not 16 <= len(nonce) <= 128:
        raise HandoffRefused("expires or nonce is not what a link holds")
    expected = link_signature(patron=patron, expires=expires, nonce=nonce,
                              return_url=return_url, secret=secret)  # fmt: skip
    if not hmac.compare_digest(expected, signature.lower()):
        raise HandoffRefused("the signature does not fit the link")
    expires_at = _lifetime_checked(int(expires))
    return Handoff(patron, return_checked(return_url), expires_at, once=f"link:{nonce}")


def token_verified(token: str, return_url: str = "") -> Handoff:
    """The hand-off a Primo VE JWT carries. Raises HandoffRefused."""
    if not settings.HANDOFF_JWKS_URL:
        raise HandoffRefused("JWT hand-offs are not enabled (no HANDOFF_JWKS_URL)")
    try:
        key = jwks_client(settings.HANDOFF_JWKS_URL).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            leeway=settings.HANDOFF_LEEWAY_SECONDS,
            issuer=settings.HANDOFF_JWT_ISSUER or None,
            options={"require": ["exp", "iat"], "verify_aud": False},
        )
    except jwt.PyJWKClientError as error:
        raise HandoffRefused(f"no key of the institution's key set fits: {error}") from error
    except jwt.InvalidTokenError as error:
        raise HandoffRefused(f"the token is not valid: {error}") from error
    if claims["iat"] > time.time() + settings.HANDOFF_LEEWAY_SECONDS:
        raise HandoffRefused("the token was issued in the future")
    patron = claims.get(settings.HANDOFF_JWT_PATRON_CLAIM)
    if not isinstance(patron, str | int) or not str(patron).strip():
        raise HandoffRefused(f"the token has no {settings.HANDOFF_JWT_PATRON_CLAIM} claim")
    expires_at = datetime.datetime.fromtimestamp(claims["exp"], datetime.UTC)
    once = "jwt:" + hashlib.sha256(token.encode()).hexdigest()
    return Handoff(str(patron).strip(), return_checked(return_url), expires_at, once=once)


JWKS_CLIENTS: dict[str, jwt.PyJWKClient] = {}


def jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per key set and process: it caches the keys for an hour, and fetches the
    set again for a key it does not know, at most once per cooldown (so that made-up key
    ids cannot make it fetch on every request)."""
    if url not in JWKS_CLIENTS:
        JWKS_CLIENTS[url] = jwt.PyJWKClient(
            url, cache_keys=True, lifespan=3600, timeout=5,
            cooldown_duration=settings.HANDOFF_JWKS_COOLDOWN_SECONDS,
        )  # fmt: skip
    return JWKS_CLIENTS[url]


def return_checked(url: str) -> str:
    """The way back to the catalogue, if it leads to a host the library allows."""
    if not url:
        return ""
    parts = urlsplit(url)
    allowed = {host.lower() for host in settings.HANDOFF_RETURN_HOSTS}
    if (
        parts.scheme not in ("https", "http")
        or parts.username
        or parts.password
        or ((parts.hostname or "") not in allowed)
    ):
        raise HandoffRefused(f"the way back leads to a host not allowed: {parts.hostname!r}")
    return url


def handoff_spend(handoff: Handoff) -> None:
    """Mark the link used; HandoffRefused if it was used before."""
    digest = hashlib.sha256(handoff.once.encode()).hexdigest()
    # Kept as long as the link could pass: its expiry and the clock difference allowed.
    kept_until = handoff.expires_at + datetime.timedelta(seconds=settings.HANDOFF_LEEWAY_SECONDS)
    try:
        with transaction.atomic():
            HandoffUse.objects.create(digest=digest, expires_at=kept_until)
    except IntegrityError as error:
        raise HandoffRefused("the link was used already") from error
    HandoffUse.objects.filter(expires_at__lt=timezone.now()).delete()


def _lifetime_checked(expires: int) -> datetime.datetime:
    now, leeway = time.time(), settings.HANDOFF_LEEWAY_SECONDS
    if expires + leeway < now:
        raise HandoffRefused("the link has expired")
    if expires > now + settings.HANDOFF_MAX_AGE_SECONDS + leeway:
        raise HandoffRefused("the link would live longer than HANDOFF_MAX_AGE_SECONDS")
    return datetime.datetime.fromtimestamp(expires, datetime.UTC)
