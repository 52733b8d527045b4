"""Single sign-on through an OpenID Connect provider (mozilla-django-oidc), as the library
configures it: the provider's endpoints come from the settings or, where those leave them
empty, from its discovery document (OIDC_DISCOVERY_URL), read at the first sign-in and
kept for an hour. Nothing is asked of the provider at start-up, so a portal without
single sign-on never needs one; see docs/sign-in-oidc.md.

mozilla-django-oidc reads its settings through `get_settings`: the portal's backend and
views use `setting` below instead, which fills in the endpoints from discovery."""

import logging
import threading
import time
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import resolve_url
from django.urls import reverse
from mozilla_django_oidc.utils import import_from_settings

from accounts.signin import IDENTITY_MATCHES, OIDC, is_enabled

logger = logging.getLogger(__name__)

# The settings that discovery fills in when they are empty, and the document's names.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_ISSUER": "issuer",
    "OIDC_OP_END_SESSION_ENDPOINT": "end_session_endpoint",
}
# Endpoints a sign-in cannot do without; the others may be missing.
REQUIRED = ("OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT")
DISCOVERY_MAX_AGE_SECONDS = 3600

_documents: dict[str, tuple[float, dict]] = {}
_documents_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The OpenID provider could not be reached, or its answer could not be read."""


def discovery_document() -> dict:
    """The provider's discovery document (OIDC_DISCOVERY_URL), read once an hour; {} when
    the library gives no discovery URL. Raises ProviderUnavailable."""
    url = settings.OIDC_DISCOVERY_URL
    if not url:
        return {}
    with _documents_lock:
        kept = _documents.get(url)
    if kept is not None and time.monotonic() - kept[0] < DISCOVERY_MAX_AGE_SECONDS:
        return kept[1]
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        logger.warning("The OpenID provider's discovery document %s cannot be read: %s", url, error)
        raise ProviderUnavailable from None
    if not isinstance(document, dict):
        logger.warning("The OpenID provider's discovery document %s is no JSON object", url)
        raise ProviderUnavailable
    with _documents_lock:
        _documents[url] = (time.monotonic(), document)
    return document


def forget_discovery() -> None:
    """Read the discovery document again at the next sign-in."""
    with _documents_lock:
        _documents.clear()


def setting(attr: str, *default):
    """A mozilla-django-oidc setting, an empty endpoint taken from the discovery document.
    Raises ImproperlyConfigured for a required endpoint neither names, ProviderUnavailable
    when discovery cannot be read."""
    if attr not in DISCOVERED:
        return import_from_settings(attr, *default)
    value = getattr(settings, attr, "") or discovery_document().get(DISCOVERED[attr], "")
    if value:
        return value
    if attr in REQUIRED:
        raise ImproperlyConfigured(
            f"{attr} is not set, and OIDC_DISCOVERY_URL does not name it either."
        )
    return default[0] if default else None


def provider_logout_url(request) -> str | None:
    """Where the provider ends its own session too (its end_session_endpoint, with the
    patron's ID token as the hint, coming back to the login page); None when the session
    was no OpenID sign-in or the provider names no such endpoint. Read it before the
    portal's session ends."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not is_enabled(OIDC):
        return None
    try:
        endpoint = setting("OIDC_OP_END_SESSION_ENDPOINT", None)
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("accounts:login")),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def logout_url(request) -> str:
    """For mozilla-django-oidc's own logout view (OIDC_OP_LOGOUT_URL_METHOD)."""
    return provider_logout_url(request) or resolve_url(settings.LOGOUT_REDIRECT_URL)


def configuration_problems() -> list[str]:
    """What keeps the OpenID sign-in from working, as far as the settings tell (the
    provider itself is not asked)."""
    problems = []
    if not settings.OIDC_RP_CLIENT_ID:
        problems.append("OIDC_RP_CLIENT_ID is not set.")
    if not settings.OIDC_DISCOVERY_URL:
        problems.extend(
            f"{name} is not set, and there is no OIDC_DISCOVERY_URL to find it."
            for name in REQUIRED
            if not getattr(settings, name, "")
        )
    if settings.OIDC_PATRON_MATCH not in IDENTITY_MATCHES:
        problems.append(
            f"OIDC_PATRON_MATCH is {settings.OIDC_PATRON_MATCH!r}, not one of "
            f"{', '.join(IDENTITY_MATCHES)}."
        )
    if not settings.OIDC_PATRON_CLAIM:
        problems.append("OIDC_PATRON_CLAIM is empty.")
    return problems
