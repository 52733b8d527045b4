from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.signin import SignInUnavailable


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


class LibraryCardLoginForm(AuthenticationForm):
    """Card number and PIN, checked by the library system (LibraryCardBackend)."""

    username = forms.CharField(
        label=_("Library card number"),
        max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("PIN"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The card number or the PIN is not right. Please try again."),
        "unavailable": _(
            "The library system cannot check your PIN right now. Please try again later."
        ),
    }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "card_%s")  # beside the password form on one page
        super().__init__(*args, **kwargs)

    def clean(self):
        card_number = self.cleaned_data.get("username")
        pin = self.cleaned_data.get("password")
        if card_number is not None and pin:
            try:
                self.user_cache = authenticate(self.request, card_number=card_number, password=pin)
            except SignInUnavailable:
                raise ValidationError(
                    self.error_messages["unavailable"], code="unavailable"
                ) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
