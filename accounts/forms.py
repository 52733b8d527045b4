from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class CardNumberLoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Library card number"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
        help_text=_("Staff log in with their user name."),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The card number (or staff user name) or the password is not right. "
            "Passwords are case-sensitive; please try again."
        ),
    }
