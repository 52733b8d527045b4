import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

# A user number is part of URL paths (/api/v1/patrons/{user_number}, the desk's patron
# page) and of the patron's username: ASCII letters and digits and _ . @ + -, and not dots
# alone ("." and ".." are path segments that clients and proxies resolve away). Written
# without anchors or lookaround, so that the API's schemas can use it as it is.
USER_NUMBER_PATTERN = r"[A-Za-z0-9_.@+-]*[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*"
USER_NUMBER_MAX_LENGTH = 32


def is_user_number(value: str) -> bool:
    return (
        len(value) <= USER_NUMBER_MAX_LENGTH
        and re.fullmatch(USER_NUMBER_PATTERN, value, re.ASCII) is not None
    )


def validate_user_number(value: str) -> None:
    if not is_user_number(value):
        raise ValidationError(
            _(
                "A user number is at most 32 of the letters A-Z and a-z, the digits 0-9 "
                "and _ . @ + -, and not dots alone."
            ),
            code="invalid_user_number",
        )


class Patron(models.Model):
    """A library user who owes fees. Logs in with the card number."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patron"
    )
    # The library system's stable id; the card number changes when a card is replaced.
    user_number = models.CharField(
        _("user number"),
        max_length=USER_NUMBER_MAX_LENGTH,
        unique=True,
        validators=[validate_user_number],
    )
    card_number = models.CharField(_("card number"), max_length=32, unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("email"), blank=True)
    # The id the library system's own API knows the patron by (Koha's patron_id, Alma's
    # primary id, FOLIO's user id), and which system that is when several feed the portal.
    source_system = models.CharField(
        _("library system"), max_length=32, blank=True, default="", db_default=""
    )
    external_id = models.CharField(
        _("id in the library system"), max_length=64, blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("patron")
        verbose_name_plural = _("patrons")
        ordering = ["last_name", "first_name", "user_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=~models.Q(external_id=""),
                name="patron_external_id_once_per_system",
            )
        ]
        indexes = [
            # The desk finds a user number typed in any case; `user_number__iexact` compares
            # UPPER(user_number), which this index serves.
            models.Index(Upper("user_number"), name="patron_user_number_upper"),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.user_number})"

    @property
    def full_name(self):
        """'Last, First' as library systems list their users."""
        return ", ".join(part for part in (self.last_name, self.first_name) if part)


class PasswordResetRequest(models.Model):
    """One request for a password-reset e-mail, kept for an hour to throttle them
    (accounts.passwords.reset_allowed). The card number or e-mail typed is kept as a
    keyed digest only."""

    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    identifier_digest = models.CharField(max_length=64, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("password reset request")
        verbose_name_plural = _("password reset requests")

    def __str__(self):
        return f"{self.requested_at:%Y-%m-%d %H:%M}"


class HandoffUse(models.Model):
    """A hand-off link or token that has signed someone in, kept until it expires so that
    it works once (accounts.handoff)."""

    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("used hand-off link")
        verbose_name_plural = _("used hand-off links")

    def __str__(self):
        return self.digest[:12]


class StaffDesk(models.Model):
    """Holds the staff desk's permissions; it has no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("use_desk", "Can use the staff desk"),
            ("cancel_order", "Can cancel payment orders"),
            ("complete_order", "Can complete and book payment orders"),
            ("book_late_payment", "Can book a payment that arrived after cancellation"),
            ("book_counter_entry", "Can book counter payments, credit notes, waivers and refunds"),
            (
                "manage_deliveries",
                "Can send deliveries to the library system again or resolve them",
            ),
            ("resolve_flag", "Can mark underpaid and charged-back orders as resolved"),
            ("refund_to_card", "Can refund money to the card through the payment provider"),
        ]
        verbose_name = _("staff desk")

    def __str__(self):
        return str(self._meta.verbose_name)
