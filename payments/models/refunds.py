"""Refunds through the provider: money paid back to the card a payment came from.

A refund's `status` always equals its latest event's status; both are written
together by `payments.services.refunds`, the only code that moves a refund.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


# Refunds whose amount is spoken for: it left, or may still leave, through the provider.
REFUND_RESERVING_STATUSES = (RefundStatus.REQUESTED.value, RefundStatus.SUCCEEDED.value)


# A refund of part of a payment gives that part up first, as a credit note booked with
# this prefix and the refund's id as its key: the patron reads the two as one refund.
CREDIT_NOTE_KEY_PREFIX = "refund-credit:"


class Refund(models.Model):
    class Source(models.TextChoices):
        CREDIT = "credit", _("The patron's credit")
        PAYMENT = "payment", _("Part of the payment, which the library no longer claims")

    reference = models.CharField(_("reference number"), max_length=16, unique=True)
    # The online payment whose card gets the money back (its patron's, through its provider).
    order = models.ForeignKey(
        "payments.PaymentOrder",
        on_delete=models.PROTECT,
        related_name="refunds",
        verbose_name=_("payment order"),
    )
    amount_cents = models.BigIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3)
    source = models.CharField(_("what is paid back"), max_length=8, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    provider_refund_id = models.CharField(
        _("provider refund id"), max_length=255, null=True, blank=True, unique=True
    )
    # The journal's refund, booked when the provider confirms it (a OneToOne: once).
    entry = models.OneToOneField(
        "fees.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provider_refund",
        verbose_name=_("booked as"),
    )
    failure = models.TextField(_("why it failed"), blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed"), default=timezone.now)

    class Meta:
        verbose_name = _("refund to the card")
        verbose_name_plural = _("refunds to the card")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(entry__isnull=True) | ~Q(status=RefundStatus.REQUESTED),
                name="refund_booked_only_when_confirmed",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status=RefundStatus.REQUESTED),
                name="refund_waiting",
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def credit_note_key(self) -> str:
        return f"{CREDIT_NOTE_KEY_PREFIX}{self.pk}"

    @property
    def is_waiting(self):
        return self.status == RefundStatus.REQUESTED


class RefundEvent(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(_("status"), max_length=12, choices=RefundStatus.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    source = models.CharField(_("set by"), max_length=16)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    # The provider's id of the message that caused this event (a Stripe event id, ...).
    provider_event_id = models.CharField(_("provider reference"), max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("refund event")
        verbose_name_plural = _("refund events")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.refund_id} {self.status} @ {self.at:%Y-%m-%d %H:%M}"
