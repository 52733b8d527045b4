"""Payment orders ("Zahlaufträge") and their events.

An order's `status` column always equals its latest event's status: both are
written together by `payments.services.payment_order_transition`, the only
code that moves an order.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    CREATED = "Created", _("Created")
    CREATED_AT_PROVIDER = "CreatedAtProvider", _("Created at provider")
    PAID = "Paid", _("Paid")
    UNDERPAID = "Underpaid", _("Underpaid")
    CANCELATION = "Cancelation", _("Chargeback")
    CANCELLED_BY_BIB = "CancelledByBib", _("Cancelled by the library")
    FAILED = "Failed", _("Failed")


# The status sets, named once. Open: the checkout can still be paid, its fees are reserved.
OPEN_STATUSES = (OrderStatus.CREATED.value, OrderStatus.CREATED_AT_PROVIDER.value)
# Paid: money arrived for the order (a report of money moves it to one of these).
PAID_STATUSES = (OrderStatus.PAID.value, OrderStatus.UNDERPAID.value)
# Flagged: problems staff must deal with, until they record how they resolved them.
FLAG_STATUSES = (OrderStatus.UNDERPAID.value, OrderStatus.CANCELATION.value)
# Statuses that can need staff: unresolved flags, and open orders (which need staff once
# stuck). Money waiting to be booked is found through MoneyReport, not through the status.
ATTENTION_STATES = Q(status__in=FLAG_STATUSES, flag_resolved_at__isnull=True) | Q(
    status__in=OPEN_STATUSES
)


class EventSource(models.TextChoices):
    PORTAL = "portal", _("Portal")
    PROVIDER = "provider", _("Payment provider")
    STAFF = "staff", _("Staff")
    SYSTEM = "system", _("System job")
    API = "api", _("External system")


class Mode(models.TextChoices):
    TEST = "test", _("Test")
    LIVE = "live", _("Live")


UNKNOWN_METHOD = "Unknown"


class PaymentOrder(models.Model):
    reference = models.CharField(_("reference number"), max_length=16, unique=True)
    patron = models.ForeignKey(
        "accounts.Patron", on_delete=models.PROTECT, related_name="payment_orders"
    )
    fees = models.ManyToManyField(
        "fees.JournalEntry", through="OrderFee", related_name="payment_orders"
    )
    amount_cents = models.BigIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3)
    provider = models.CharField(_("provider"), max_length=32)
    mode = models.CharField(_("mode"), max_length=4, choices=Mode.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.CREATED
    )
    # The provider's id for this payment (a Stripe Checkout Session id, ...).
    provider_transaction_id = models.CharField(
        _("provider transaction id"), max_length=255, null=True, blank=True, unique=True
    )
    # The provider's id of the money movement (a Stripe PaymentIntent), which chargebacks name.
    provider_payment_id = models.CharField(
        _("provider payment id"), max_length=255, null=True, blank=True, unique=True
    )
    # Filled on Paid/Underpaid; a OneToOne, so the database allows one payment per order.
    payment_entry = models.OneToOneField(
        "fees.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_order",
        verbose_name=_("payment assigned"),
    )
    payment_method = models.CharField(_("payment method"), max_length=64, default=UNKNOWN_METHOD)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed"), default=timezone.now)
    # When staff recorded how they dealt with an Underpaid or Cancelation (who and how: the
    # staff action). Any later change of status clears it: a new status is a new problem.
    flag_resolved_at = models.DateTimeField(_("flag resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="order_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            models.Index(fields=["patron", "status"], name="order_patron_status"),
            models.Index(fields=["created_at"], name="order_created"),
            # "Needs attention" is a few thousand of a million orders.
            models.Index(
                fields=["created_at"], condition=ATTENTION_STATES, name="order_needs_attention"
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES


class OrderFee(models.Model):
    """A fee in an order. While the order is open the fee is reserved for it alone."""

    order = models.ForeignKey(PaymentOrder, on_delete=models.CASCADE, related_name="order_fees")
    fee = models.ForeignKey("fees.JournalEntry", on_delete=models.PROTECT, related_name="+")
    amount_cents = models.BigIntegerField(_("amount (cents)"))
    reserved = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "fee"], name="order_fee_once"),
            # Two tabs, a double click, an overlapping selection: the database lets one win.
            models.UniqueConstraint(
                fields=["fee"], condition=Q(reserved=True), name="fee_in_one_open_order"
            ),
        ]

    def __str__(self):
        return f"{self.order_id}: {self.fee_id}"


class PaymentEvent(models.Model):
    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    source = models.CharField(_("set by"), max_length=16, choices=EventSource.choices)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    payment_method = models.CharField(_("payment method"), max_length=64, default=UNKNOWN_METHOD)
    # The provider's id of the message that caused this event (a Stripe event id, ...).
    provider_event_id = models.CharField(_("provider reference"), max_length=255, blank=True)
    amount_cents = models.BigIntegerField(_("amount received (cents)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_event_id"],
                condition=~Q(provider_event_id=""),
                name="provider_event_once",
            ),
        ]

    def __str__(self):
        return f"{self.order_id} {self.status} @ {self.at:%Y-%m-%d %H:%M}"


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
        return f"{self.amount_cents / 100:.2f} {self.currency} ({self.get_source_display()})"

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


class SimulatedCheckout(models.Model):
    """The simulated provider's own record of a checkout: what a real provider keeps.

    The portal reads it only through the provider interface (webhooks and fetch).
    """

    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        UNDERPAID = "underpaid", _("Paid less")
        FAILED = "failed", _("Failed")
        ABANDONED = "abandoned", _("Abandoned")
        EXPIRED = "expired", _("Expired")
        CHARGED_BACK = "charged_back", _("Charged back")

    transaction_id = models.CharField(max_length=64, unique=True)
    order_reference = models.CharField(max_length=16)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OPEN)
    paid_cents = models.BigIntegerField(default=0)
    method = models.CharField(max_length=32, blank=True)
    return_url = models.CharField(max_length=500)
    cancel_url = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    # Signed callbacks the tester chose to hold back, delivered later on request.
    held_callbacks = models.JSONField(default=list, blank=True)
    # Refunds made of this checkout's money: {"id", "reference", "amount_cents", "status"}.
    refunds = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("simulated checkout")

    def __str__(self):
        return self.transaction_id


class ApiScope(models.TextChoices):
    FEES_WRITE = "fees:write", _("Post patrons, fees and overdue loans")
    PAYMENTS_WRITE = "payments:write", _("Report payments")
    ACCOUNTS_READ = "accounts:read", _("Read account summaries")
    MOVEMENTS_READ = "movements:read", _("Read the feed of money movements")


class ApiClient(models.Model):
    """Another system allowed to use the API. Its key is shown once and stored hashed."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # The key is "<prefix>.<secret>"; the prefix finds the client, the hash proves the secret.
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    # The library system this client speaks for: the patron and fee ids it sends are kept
    # under this name, so that two systems feeding the portal can use the same ids.
    library_system = models.CharField(
        _("library system"),
        max_length=32,
        blank=True,
        help_text=_("Leave empty when only one library system feeds the portal."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiRequest(models.Model):
    """Every API request, with the client that made it (when it could be identified)."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("API request")
        verbose_name_plural = _("API requests")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["client", "at"], name="apirequest_client_at")]

    def __str__(self):
        return f"{self.method} {self.path} {self.status}"


class ApiIdempotencyRecord(models.Model):
    """The answer given to a caller's id, so that a repeat gets the same answer."""

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="+")
    operation = models.CharField(max_length=32)
    key = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "operation", "key"], name="api_idempotency_once"
            )
        ]

    def __str__(self):
        return f"{self.operation}:{self.key}"


# Refunds live in their own module; importing them here registers them with the app.
from payments.models.refunds import (  # noqa: E402
    REFUND_RESERVING_STATUSES,
    Refund,
    RefundEvent,
    RefundStatus,
)

__all__ = [
    "ATTENTION_STATES",
    "FLAG_STATUSES",
    "OPEN_STATUSES",
    "PAID_STATUSES",
    "REFUND_RESERVING_STATUSES",
    "UNKNOWN_METHOD",
    "ApiClient",
    "ApiIdempotencyRecord",
    "ApiRequest",
    "ApiScope",
    "EventSource",
    "Mode",
    "MoneyReport",
    "OrderFee",
    "OrderStatus",
    "PaymentEvent",
    "PaymentOrder",
    "Refund",
    "RefundEvent",
    "RefundStatus",
    "SimulatedCheckout",
    "UnmatchedProviderReport",
]
