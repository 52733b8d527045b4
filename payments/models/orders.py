"""Payment orders ("Zahlaufträge"), their statuses, fees and events.

An order's `status` column always equals its latest event's status: both are
written together by `payments.services.payment_order_transition`, the only
code that moves an order.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fees.models import Owner


class OrderStatus(models.TextChoices):
    CREATED = "Created", _("Created")
    CREATED_AT_PROVIDER = "CreatedAtProvider", _("Created at provider")
    PAID = "Paid", _("Paid")
    UNDERPAID = "Underpaid", _("Underpaid")
    # Stored as the seed document names it ("Cancelation"), shown as what it is.
    CHARGEBACK = "Cancelation", _("Chargeback")
    CANCELLED_BY_BIB = "CancelledByBib", _("Cancelled by the library")
    FAILED = "Failed", _("Failed")


# The status sets, named once. Open: the checkout can still be paid, its fees are reserved.
OPEN_STATUSES = (OrderStatus.CREATED.value, OrderStatus.CREATED_AT_PROVIDER.value)
# Paid: money arrived for the order (a report of money moves it to one of these).
PAID_STATUSES = (OrderStatus.PAID.value, OrderStatus.UNDERPAID.value)
# Flagged: problems staff must deal with, until they record how they resolved them.
FLAG_STATUSES = (OrderStatus.UNDERPAID.value, OrderStatus.CHARGEBACK.value)
# Statuses that can need staff: unresolved flags, and open orders (which need staff once
# stuck). Money waiting to be booked is found through MoneyReport, not through the status.
ATTENTION_STATES = Q(status__in=FLAG_STATUSES, flag_resolved_at__isnull=True) | Q(
    status__in=OPEN_STATUSES
)


class EventKind(models.TextChoices):
    """What the portal itself says about an event. The sentence is rendered in the reader's
    language from the event's facts (payments.labels.event_text); `note` keeps the staff's
    or the provider's own words as they were given."""

    NOTE = "", _("Note only")
    PROVIDER_UNREACHABLE = "provider_unreachable", _("Provider not reached")
    GIVEN_UP = "given_up", _("Given up by the patron")
    CHECKOUT_EXPIRED = "checkout_expired", _("Checkout expired")
    HELD_WRONG_CURRENCY = "held_wrong_currency", _("Money in another currency held")
    HELD_FURTHER_PAYMENT = "held_further_payment", _("Further payment held")
    COMPLETION_CONFIRMED = "completion_confirmed", _("Staff completion confirmed")
    MONEY_BOOKED = "money_booked", _("Held money booked")
    MONEY_CLOSED = "money_closed", _("Held money closed")
    FLAG_RESOLVED = "flag_resolved", _("Flag resolved")
    PAID_THERE_TOO = "paid_there_too", _("Paid in the library system too")


class FlagResolution(models.TextChoices):
    """What staff can say they did about a flag: each names what happened to the money."""

    REST_OPEN = "rest_open", _("Remaining amount stays open — resolved")
    REST_WAIVED = "rest_waived", _("Remaining amount waived")
    REST_PAID = "rest_paid", _("Remaining amount paid at the counter")
    PATRON_CONTACTED = "patron_contacted", _("Chargeback acknowledged — patron contacted")
    AMOUNT_OPEN = "amount_open", _("Chargeback acknowledged — amount stays open")
    PAID_AGAIN = "paid_again", _("Chargeback acknowledged — amount paid again")


# The resolutions offered for each flag.
FLAG_RESOLUTIONS = {
    OrderStatus.UNDERPAID.value: (
        FlagResolution.REST_OPEN,
        FlagResolution.REST_WAIVED,
        FlagResolution.REST_PAID,
    ),
    OrderStatus.CHARGEBACK.value: (
        FlagResolution.PATRON_CONTACTED,
        FlagResolution.AMOUNT_OPEN,
        FlagResolution.PAID_AGAIN,
    ),
}


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
    # The owner of its fees, whose merchant account the money goes to (one order pays one
    # owner's fees). None: the default owner's, as every order made before owners existed.
    owner = models.ForeignKey(
        "fees.Owner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    amount_cents = models.BigIntegerField(_("amount (cents)"))
    # Part of amount_cents: the owner's service fee for paying online (the rest pays fees).
    service_fee_cents = models.BigIntegerField(_("service fee (cents)"), default=0)
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
            models.CheckConstraint(
                condition=Q(service_fee_cents__gte=0, service_fee_cents__lt=F("amount_cents")),
                name="order_service_fee_within_amount",
            ),
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
    def payee(self) -> Owner:
        """The owner whose merchant account the order's money goes to; an order made
        before owners existed is the default owner's."""
        return self.owner or Owner.objects.default()

    def paid_in_full_by(self, cents: int) -> bool:
        """Whether money of `cents` pays all of the order (less is an underpayment)."""
        return cents >= self.amount_cents

    @property
    def fees_cents(self) -> int:
        """What of the amount pays the order's fees: all of it but the service fee."""
        return self.amount_cents - self.service_fee_cents

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
    kind = models.CharField(
        _("what happened"), max_length=32, choices=EventKind.choices, blank=True, default=""
    )
    # The values the kind's sentence names: amounts in cents, their currency, an ISO time.
    facts = models.JSONField(_("facts"), default=dict, blank=True)
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
