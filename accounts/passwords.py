"""A password of the portal's, for a library that enables one (SIGN_IN_METHODS has
"password"): Django's own reset, found by card number or e-mail, and the e-mail that lets a
patron the API created set a first password. The reset page says the same whether or not
someone was found, and is throttled per address and per card number or e-mail, counted in
the database so that every web process sees the same count."""

import datetime
import hashlib

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.cards import normalize_card_number
from accounts.models import PasswordResetRequest, Patron
from accounts.signin import PASSWORD, is_enabled

RESET_WINDOW = datetime.timedelta(hours=1)


class CardOrEmailResetForm(PasswordResetForm):
    email = forms.CharField(
        label=_("Library card number or e-mail address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def get_users(self, email):
        """Active users with an e-mail address, by card number or e-mail: a patron without a
        password yet (created by the library system) sets a first one the same way."""
        typed = email.strip()
        users = get_user_model()._default_manager.filter(is_active=True).exclude(email="")
        if not is_enabled(PASSWORD):
            users = users.filter(patron__isnull=True)  # patrons sign in another way
        return users.filter(
            Q(email__iexact=typed) | Q(patron__card_number=normalize_card_number(typed))
        ).distinct()


def reset_allowed(*, identifier: str, address: str | None) -> bool:
    """Whether another reset e-mail may be asked for now; notes the request when it may.
    At most PASSWORD_RESET_PER_HOUR per card number or e-mail, and four times that per
    address."""
    digest = identifier_digest(identifier)
    since = timezone.now() - RESET_WINDOW
    recent = PasswordResetRequest.objects.filter(requested_at__gte=since)
    limit = settings.PASSWORD_RESET_PER_HOUR
    if recent.filter(identifier_digest=digest).count() >= limit or (
        address and recent.filter(address=address).count() >= 4 * limit
    ):
        return False
    PasswordResetRequest.objects.create(identifier_digest=digest, address=address)
    PasswordResetRequest.objects.filter(requested_at__lt=since).delete()
    return True


def identifier_digest(identifier: str) -> str:
    """What is kept of a typed card number or e-mail: enough to count it, not to read it."""
    normal = normalize_card_number(identifier).casefold()
    return hashlib.sha256(f"{settings.SECRET_KEY}:{normal}".encode()).hexdigest()


def set_password_email_send(*, patron: Patron, request) -> bool:
    """E-mail the patron a link to set their password (the reset's link and token, worded
    for a first password); False when they have no e-mail address."""
    if not patron.user.email or not patron.user.is_active:
        return False
    form = CardOrEmailResetForm({"email": patron.card_number})  # unique: them alone
    form.is_valid()
    form.save(
        request=request,
        use_https=request.is_secure(),
        subject_template_name="registration/set_password_subject.txt",
        email_template_name="registration/set_password_email.txt",
        extra_email_context={"site_name": settings.LIBRARY_NAME},
    )
    return True
