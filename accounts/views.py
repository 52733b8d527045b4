from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from accounts.forms import CardNumberLoginForm, LibraryCardLoginForm
from accounts.signin import LIBRARY_CARD, PASSWORD, is_enabled, method_label


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
        context["sign_in_forms"] = [
            {
                "method": method,
                "form": form,
                "title": method_label(method) if is_enabled(method) else None,
                "open": posted == method or (posted is None and method == next(iter(forms))),
            }
            for method, form in forms.items()
        ]
        return context


@login_required
def home(request):
    """Patrons go to their account; staff to their tools."""
    if hasattr(request.user, "patron"):
        return redirect("payments:account")
    if request.user.has_perm("accounts.use_desk"):
        return redirect("staffdesk:home")
    return redirect("admin:index")
