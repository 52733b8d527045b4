"""The OpenID sign-in's start and callback: mozilla-django-oidc's views, found at its own
URL names under /oidc/ (OIDC_AUTHENTICATE_CLASS, OIDC_CALLBACK_CLASS), with the portal's
answers when a sign-in does not work. Without "oidc" in SIGN_IN_METHODS they are not
there (404)."""

import logging

import jwt
import requests
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from accounts import oidc
from accounts.signin import OIDC, IdentityNotLinked, SignInUnavailable, is_enabled

logger = logging.getLogger(__name__)

LIBRARY_SYSTEM = "library_system"
PROVIDER = "provider"


def unavailable(request, who: str):
    """The library system or the sign-in service cannot be reached: try again later."""
    return render(request, "accounts/sign_in_unavailable.html", {"who": who}, status=503)


def sign_in_failed(request):
    """The sign-in came back in a state the portal cannot trust or use: start again."""
    return render(request, "accounts/sign_in_failed.html", status=400)


class AuthenticateView(OIDCAuthenticationRequestView):
    """Sends the patron to the provider, `next` kept if it stays on the portal."""

    get_settings = staticmethod(oidc.setting)

    def __init__(self, **kwargs):
        # The endpoints are looked up in get(), where an unreachable provider is answered.
        View.__init__(self, **kwargs)

    def get(self, request):
        if not is_enabled(OIDC):
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except oidc.ProviderUnavailable:
            return unavailable(request, PROVIDER)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the patron back: signed in and on to `next`, or told why
    not. State and nonce are checked by mozilla-django-oidc, the ID token by the backend
    (payments.oidc_signin)."""

    get_settings = staticmethod(oidc.setting)

    @property
    def failure_url(self):
        return reverse("accounts:not_linked")

    def get(self, request):
        if not is_enabled(OIDC):
            raise Http404
        if request.GET.get("error"):
            logger.info("The OpenID provider answered %r", request.GET["error"])
            super().get(request)  # forgets the state
            return sign_in_failed(request)
        if not ("code" in request.GET and "state" in request.GET) or (
            "oidc_states" not in request.session
        ):
            return sign_in_failed(request)
        try:
            return super().get(request)
        except IdentityNotLinked:
            return redirect(self.failure_url)
        except SignInUnavailable:
            return unavailable(request, LIBRARY_SYSTEM)
        except requests.HTTPError as error:
            logger.warning("The OpenID provider refused to finish a sign-in: %s", error)
            status = error.response.status_code if error.response is not None else 500
            return sign_in_failed(request) if status < 500 else unavailable(request, PROVIDER)
        except (oidc.ProviderUnavailable, requests.RequestException) as error:
            logger.warning("The OpenID provider could not finish a sign-in: %s", error)
            return unavailable(request, PROVIDER)
        except (SuspiciousOperation, jwt.InvalidTokenError) as error:
            logger.warning("An OpenID sign-in is refused: %s", error)
            return sign_in_failed(request)
