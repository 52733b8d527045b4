import logging

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode

from accounts.forms import CardNumberLoginForm, LibraryCardLoginForm
from accounts.handoff import (
    CATALOGUE_RETURN,
    HandoffRefused,
    handoff_spend,
    link_verified,
    token_verified,
)
from accounts.oidc import provider_logout_url
from accounts.passwords import CardOrEmailResetForm, reset_allowed
from accounts.saml.views import idp_logout
from accounts.signin import (
    LIBRARY_CARD,
    PASSWORD,
    SSO_START_URLS,
    SignInUnavailable,
    identity_patron,
    is_enabled,
    method_label,
)

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    """One form per sign-in method the library enables; the posted `method` says which
    was used. The password form is always there, for staff."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def posted_method(self) -> str:
        method = self.request.POST.get("method")
        return LIBRARY_CARD if method == LIBRARY_CARD and is_enabled(LIBRARY_CARD) else PASSWORD

    def get_form_class(self):
        if self.posted_method() == LIBRARY_CARD:
            return LibraryCardLoginForm
        return CardNumberLoginForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        posted = self.posted_method() if self.request.method == "POST" else None
        forms = {}
        if is_enabled(LIBRARY_CARD):
            forms[LIBRARY_CARD] = (
                context["form"] if posted == LIBRARY_CARD else LibraryCardLoginForm(self.request)
            )
        forms[PASSWORD] = (
            context["form"] if posted == PASSWORD else CardNumberLoginForm(self.request)
        )
        if len(forms) > 1:  # the first method's form takes the focus
            forms[PASSWORD].fields["username"].widget.attrs.pop("autofocus", None)
        # The methods in the library's order: a button for single sign-on, a form otherwise.
        methods = []
        for method in settings.SIGN_IN_METHODS:
            entry = {"method": method, "title": method_label(method)}
            if method in SSO_START_URLS:
                methods.append({**entry, "url": self.sso_url(method)})
            elif method in forms:
                methods.append({**entry, "form": forms[method]})
        context["sign_in_methods"] = methods
        if not is_enabled(PASSWORD):  # staff only: folded away unless just used
            context["staff_form"] = forms[PASSWORD]
            context["staff_form_open"] = posted == PASSWORD or (posted is None and not methods)
        return context

    def sso_url(self, method: str) -> str:
        """The single sign-on's start, carrying on to where the login was asked from."""
        url = reverse(SSO_START_URLS[method])
        target = self.get_redirect_url()
        return f"{url}?{urlencode({'next': target})}" if target else url


def handoff(request):
    """The catalogue's "Pay fees" link (accounts.handoff): signs the patron in, once."""
    try:
        if "jwt" in request.GET:
            handed = token_verified(request.GET["jwt"], request.GET.get("return", ""))
        else:
            handed = link_verified(request.GET)
        handoff_spend(handed)
        patron = identity_patron(value=handed.patron, match=settings.HANDOFF_PATRON_MATCH)
    except HandoffRefused as refusal:
        logger.info("A hand-off link was refused: %s", refusal)
        return render(request, "accounts/handoff_refused.html", status=403)
    except SignInUnavailable:
        return render(
            request, "accounts/sign_in_unavailable.html", {"who": "library_system"}, status=503
        )
    if patron is None or not patron.user.is_active:
        return not_linked(request)
    login(request, patron.user, backend="accounts.backends.UsernameBackend")
    if handed.return_url:
        request.session[CATALOGUE_RETURN] = handed.return_url
    return redirect("payments:account")


class LogoutView(auth_views.LogoutView):
    """Ends the portal's session; after a single sign-on through an OpenID provider or a
    SAML IdP that has a logout of its own, on to it, so the provider's session ends too."""

    def post(self, request, *args, **kwargs):
        # Both are made before the session ends.
        provider_logout = provider_logout_url(request)
        saml_logout = None if provider_logout else idp_logout(request)
        response = super().post(request, *args, **kwargs)
        if provider_logout:
            return redirect(provider_logout)
        return saml_logout or response


def not_linked(request):
    """Single sign-on named someone the library system does not know."""
    return render(request, "accounts/not_linked.html", status=403)


@login_required
def home(request):
    """Patrons go to their account; staff to their tools."""
    if hasattr(request.user, "patron"):
        return redirect("payments:account")
    if request.user.has_perm("accounts.use_desk"):
        return redirect("staffdesk:home")
    return redirect("admin:index")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, by card number or e-mail; the same answer whether or not anyone was
    found; throttled (accounts.passwords.reset_allowed)."""

    form_class = CardOrEmailResetForm
    template_name = "accounts/password_reset.html"
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self):
        return {"site_name": settings.LIBRARY_NAME}

    def form_valid(self, form):
        address = get_client_ip_address(self.request)
        if not reset_allowed(identifier=form.cleaned_data["email"], address=address):
            return render(self.request, "accounts/password_reset_paused.html", status=429)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
