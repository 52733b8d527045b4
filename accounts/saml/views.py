"""The SAML sign-in's views: djangosaml2's, at its own URL names under /saml2/
(accounts.saml.urls), with the portal's answers when a sign-in does not work, and the
IdP's single logout for the portal's logout. Without "saml" in SIGN_IN_METHODS they are
not there (404)."""

import logging

import saml2
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from djangosaml2 import views as djangosaml2_views
from djangosaml2.cache import IdentityCache, StateCache
from djangosaml2.overrides import Saml2Client
from djangosaml2.utils import get_location
from saml2.ident import decode

from accounts.oidc_views import LIBRARY_SYSTEM, PROVIDER, sign_in_failed, unavailable
from accounts.saml import config
from accounts.signin import SAML, IdentityNotLinked, SignInUnavailable, is_enabled

logger = logging.getLogger(__name__)

BACKEND = "payments.saml_signin.PatronSAMLBackend"
# Where djangosaml2 keeps the subject (NameID) of the SAML session's sign-in.
SUBJECT_KEY = "_saml2_subject_id"


def is_saml_sign_in(request, credentials) -> bool:
    """For django-axes (AXES_WHITELIST_CALLABLE): an assertion the IdP signed, already
    checked, is no guessed password."""
    return isinstance(credentials, dict) and "session_info" in credentials


class EnabledOnly:
    """404 unless the library enables the SAML sign-in; an unreadable IdP metadata is the
    'login service cannot be reached' page."""

    def dispatch(self, request, *args, **kwargs):
        if not is_enabled(SAML):
            raise Http404
        try:
            return super().dispatch(request, *args, **kwargs)
        except config.IdPUnavailable:
            return unavailable(request, PROVIDER)


class LoginView(EnabledOnly, djangosaml2_views.LoginView):
    """Sends the patron to the IdP (an AuthnRequest, HTTP-Redirect binding), `next` kept
    as the RelayState if it stays on the portal."""

    def get(self, request, *args, **kwargs):
        # Always the library's IdP, never one a link names (?idp=) from a federation.
        query = request.GET.copy()
        query["idp"] = config.identity_provider(self.get_sp_config(request))
        request.GET = query
        return super().get(request, *args, **kwargs)


# The IdP's page posts these cross-site, without the portal's CSRF token: the response's
# signature and its answer to this browser's own request are what is checked instead.
# (djangosaml2 exempts its dispatch, which EnabledOnly's replaces.)
@method_decorator(csrf_exempt, name="dispatch")
class AssertionConsumerServiceView(EnabledOnly, djangosaml2_views.AssertionConsumerServiceView):
    """Where the IdP posts its response: signed in and on to the RelayState, or told why
    not. pysaml2 checks the signature, the audience, the lifetime and that the response
    answers a request this browser's SAML session made and has not had answered yet (so a
    response replayed is refused); the backend (payments.saml_signin) finds the patron."""

    def post(self, request, *args, **kwargs):
        if not request.POST.get("SAMLResponse"):
            return sign_in_failed(request)
        try:
            return super().post(request, *args, **kwargs)
        except IdentityNotLinked:
            return redirect("accounts:not_linked")
        except SignInUnavailable:
            return unavailable(request, LIBRARY_SYSTEM)

    def custom_validation(self, response):
        # A federation's metadata names many IdPs: only the library's may sign patrons in.
        expected = config.identity_provider(self.get_sp_config(self.request))
        if response.issuer() != expected:
            raise SuspiciousOperation(f"the response is from {response.issuer()!r}")

    def handle_acs_failure(self, request, exception=None, status=403, **kwargs):
        logger.warning("A SAML sign-in is refused: %s", exception)
        return sign_in_failed(request)


@method_decorator(csrf_exempt, name="dispatch")
class LogoutServiceView(EnabledOnly, djangosaml2_views.LogoutView):
    """The IdP's answer to the portal's logout request, or the IdP's own logout request
    (single logout started at another service)."""

    def do_logout_service(self, request, data, binding, *args, **kwargs):
        if not (data.get("SAMLResponse") or data.get("SAMLRequest")):
            return sign_in_failed(request)
        try:
            return super().do_logout_service(request, data, binding, *args, **kwargs)
        except config.IdPUnavailable:
            raise
        except Exception as error:  # pysaml2 raises what its parsers and checks raise
            logger.warning("A SAML logout message is refused: %s", error)
            return sign_in_failed(request)


class MetadataView(EnabledOnly, djangosaml2_views.MetadataView):
    """The portal's metadata, for the IdP or the federation to register."""


def idp_logout(request) -> HttpResponse | None:
    """On to the IdP's single logout (a LogoutRequest), after a SAML sign-in at an IdP
    that offers one; None otherwise, and then the logout is the portal's only. Made before
    the portal's session ends; the request's state stays in the SAML session for the
    IdP's answer."""
    if not is_enabled(SAML) or request.session.get(BACKEND_SESSION_KEY) != BACKEND:
        return None
    saml_session = getattr(request, "saml_session", None)
    if saml_session is None or SUBJECT_KEY not in saml_session:
        return None
    try:
        conf = config.sp_config(request)
        idp = config.identity_provider(conf)
        if not any(
            conf.metadata.single_logout_service(idp, binding, "idpsso")
            for binding in (saml2.BINDING_HTTP_REDIRECT, saml2.BINDING_HTTP_POST)
        ):
            return None
        state = StateCache(saml_session)
        client = Saml2Client(conf, state_cache=state, identity_cache=IdentityCache(saml_session))
        result = client.global_logout(decode(saml_session[SUBJECT_KEY]))
        state.sync()
    except Exception as error:  # no single logout is no reason to stay signed in
        logger.warning("The IdP's single logout cannot be started: %s", error)
        return None
    for answer in result.values():
        if not isinstance(answer, tuple):
            return None  # ended over the back channel (SOAP)
        binding, http_info = answer
        if binding == saml2.BINDING_HTTP_REDIRECT:
            return HttpResponseRedirect(get_location(http_info))
        if binding == saml2.BINDING_HTTP_POST:
            return HttpResponse("".join(http_info["data"]))
    return None
