"""Reports of money: every report of money received is one row, booked at most once;
provider news that matches no order waits for staff."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fees.amounts import format_money
from payments.models.orders import UNKNOWN_METHOD, EventSource, OrderStatus, PaymentOrder


class MoneyQuerySet(models.QuerySet):
    def awaiting_staff(self):
        """Money received that is neither booked nor closed: the desk must act on it."""
        return self.filter(entry__isnull=True, closed_at__isnull=True)


class MoneyReport(models.Model):
    """One report that money arrived: from the provider, an external system, or staff
    completing an order. It is booked once (its journal entry), or held for staff, who
    book it or close it with a reason.

    The same money reported again (a provider's repeat, a caller's retry) finds this
    row by its origin and id, which the database holds once.
    """

    class Hold(models.TextChoices):
        AFTER_CANCELLATION = "after_cancellation", _("Paid after the library cancelled")
        FURTHER_PAYMENT = "further_payment", _("A further payment for a paid order")
        WRONG_CURRENCY = "wrong_currency", _("Paid in another currency")
        FEES_IN_ANOTHER_ORDER = "fees_elsewhere", _("Its fees are in another payment")

    patron = models.ForeignKey(
        "accounts.Patron", on_delete=models.PROTECT, related_name="money_reports"
    )
    order = models.ForeignKey(
        PaymentOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="money_reports",
        verbose_name=_("payment order"),
    )
    amount_cents = models.BigIntegerField(_("amount (cents)"))
    # As reported: money in another currency is kept as such and never booked.
    currency = models.CharField(_("currency"), max_length=3)
    source = models.CharField(_("reported by"), max_length=16, choices=EventSource.choices)
    # Where it came from and that system's id for it: the provider and its checkout,
    # or the API client and the caller's transaction id.
    provider = models.CharField(_("provider"), max_length=32, blank=True)
    api_client = models.ForeignKey(
        "ApiClient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    external_id = models.CharField(_("their id"), max_length=255, blank=True)
    payment_method = models.CharField(_("payment method"), max_length=64, default=UNKNOWN_METHOD)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    hold = models.CharField(
        _("held for staff because"), max_length=24, choices=Hold.choices, blank=True
    )
    entry = models.OneToOneField(
        "fees.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="money_report",
        verbose_name=_("booked as"),
    )
    closed_at = models.DateTimeField(_("closed without booking at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_reason = models.TextField(_("why it was not booked"), blank=True)

    objects = MoneyQuerySet.as_manager()

    class Meta:
        verbose_name = _("money received")
        verbose_name_plural = _("money received")
        ordering = ["received_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="money_amount_positive"),
            models.CheckConstraint(
                condition=Q(entry__isnull=True) | Q(closed_at__isnull=True),
                name="money_booked_or_closed",
            ),
            # Money in another currency is never booked as the library's.
            models.CheckConstraint(
                condition=~Q(hold="wrong_currency") | Q(entry__isnull=True),
                name="money_wrong_currency_never_booked",
            ),
            # A caller's transaction id is one payment, whichever endpoint carried it.
            models.UniqueConstraint(
                fields=["api_client", "external_id"],
                condition=Q(api_client__isnull=False),
                name="money_once_per_caller_id",
            ),
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~Q(provider="") & ~Q(external_id=""),
                name="money_once_per_provider_payment",
            ),
        ]
        indexes = [
            models.Index(
                fields=["order"],
                condition=Q(entry__isnull=True, closed_at__isnull=True),
                name="money_awaiting_staff",
            ),
        ]

    def __str__(self):
        return f"{format_money(self.amount_cents, self.currency)} ({self.get_source_display()})"

    @property
    def awaits_staff(self):
        return self.entry_id is None and self.closed_at is None


class UnmatchedProviderReport(models.Model):
    """News from a provider about money that the portal could not match to an order.

    Kept and shown to staff (a chargeback must never be dropped), until resolved. A refund
    made at the provider but not through the portal has no status.
    """

    provider = models.CharField(_("provider"), max_length=32)
    event_id = models.CharField(_("provider reference"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    transaction_id = models.CharField(_("provider transaction id"), max_length=255, blank=True)
    payment_id = models.CharField(_("provider payment id"), max_length=255, blank=True)
    order_reference = models.CharField(_("reference number"), max_length=64, blank=True)
    amount_cents = models.BigIntegerField(_("amount (cents)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    note = models.TextField(_("note"), blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(_("resolution"), blank=True)

    class Meta:
        verbose_name = _("unmatched provider report")
        verbose_name_plural = _("unmatched provider reports")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"],
                condition=~Q(event_id=""),
                name="unmatched_report_once",
            ),
        ]

    def __str__(self):
        return f"{self.provider} {self.status} {self.payment_id or self.transaction_id}"
