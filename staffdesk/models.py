"""The desk's audit trail: who did what, when, and why."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fees.models import Delivery
from payments.labels import status_label
from payments.models import FlagResolution, RefundStatus


class StaffAction(models.Model):
    class Kind(models.TextChoices):
        CANCEL_ORDER = "cancel_order", _("Cancelled the order")
        COMPLETE_ORDER = "complete_order", _("Completed and booked the order")
        BOOK_LATE_PAYMENT = "book_late_payment", _("Booked money received for the order")
        CLOSE_MONEY = "close_money", _("Closed money received without booking it")
        REQUERY = "requery", _("Asked the provider again")
        RESOLVE_FLAG = "resolve_flag", _("Marked an underpayment or chargeback as resolved")
        COUNTER_PAYMENT = "counter_payment", _("Booked a counter payment")
        CREDIT_NOTE = "credit_note", _("Booked a credit note")
        WAIVER = "waiver", _("Waived a fee")
        REFUND = "refund", _("Booked a refund")
        REFUND_TO_CARD = "refund_to_card", _("Refunded to the card")
        ASK_REFUND_AGAIN = "ask_refund_again", _("Asked the provider about a refund")
        RETRY_DELIVERY = "retry_delivery", _("Sent a delivery to the library system again")
        RESOLVE_DELIVERY = "resolve_delivery", _("Resolved a library-system delivery by hand")

    at = models.DateTimeField(_("time"), default=timezone.now)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff member"),
    )
    kind = models.CharField(_("action"), max_length=32, choices=Kind.choices)
    patron = models.ForeignKey(
        "accounts.Patron", on_delete=models.PROTECT, related_name="+", verbose_name=_("patron")
    )
    order = models.ForeignKey(
        "payments.PaymentOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff_actions",
        verbose_name=_("payment order"),
    )
    journal_entry = models.ForeignKey(
        "fees.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("journal entry"),
    )
    refund = models.ForeignKey(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff_actions",
        verbose_name=_("refund to the card"),
    )
    status_before = models.CharField(_("status before"), max_length=20, blank=True)
    status_after = models.CharField(_("status after"), max_length=20, blank=True)
    # For a resolved flag: the resolution staff chose (their own words are the reason).
    resolution = models.CharField(
        _("resolution"), max_length=32, choices=FlagResolution.choices, blank=True
    )
    reason = models.TextField(_("reason"), blank=True)
    # The form's one-time token: a second submit of the same form does nothing.
    submission = models.UUIDField(unique=True, null=True, blank=True, editable=False)

    # Set by the desk services on an action found by a form's token sent again.
    is_repeat = False

    class Meta:
        verbose_name = _("staff action")
        verbose_name_plural = _("staff actions")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patron", "at"], name="staffaction_patron_at")]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.staff_user_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def explanation(self) -> str:
        """The resolution chosen, in the reader's language, then the staff's own words."""
        parts = [str(self.get_resolution_display()) if self.resolution else "", self.reason]
        return ": ".join(part for part in parts if part)

    @property
    def status_before_label(self) -> str:
        return self._status_label(self.status_before)

    @property
    def status_after_label(self) -> str:
        return self._status_label(self.status_after)

    def _status_label(self, status: str) -> str:
        """A status as the reader's language names it: a delivery's, a refund's or an
        order's, as the action's kind says."""
        if self.kind in (self.Kind.RETRY_DELIVERY, self.Kind.RESOLVE_DELIVERY):
            choices = Delivery.Status
        elif self.kind in (self.Kind.REFUND_TO_CARD, self.Kind.ASK_REFUND_AGAIN):
            choices = RefundStatus
        else:
            return status_label(status)
        try:
            return str(choices(status).label)
        except ValueError:
            return status


class DeskScope(models.Model):
    """The owners a desk user works for. A user without one works for all of them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="desk_scope",
        verbose_name=_("desk user"),
    )
    owners = models.ManyToManyField(
        "fees.Owner", related_name="+", verbose_name=_("owners"), blank=True
    )

    class Meta:
        verbose_name = _("desk user's owners")
        verbose_name_plural = _("desk users' owners")

    def __str__(self):
        return str(self.user)
