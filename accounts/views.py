from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from accounts.forms import CardNumberLoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = CardNumberLoginForm
    redirect_authenticated_user = True


@login_required
def home(request):
    """Patrons go to their account; staff to their tools."""
    if hasattr(request.user, "patron"):
        return redirect("payments:account")
    if request.user.has_perm("accounts.use_desk"):
        return redirect("staffdesk:home")
    return redirect("admin:index")
