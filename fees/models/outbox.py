"""The outbox to the library system: each money movement's shares per fee and its
delivery, written in the booking's own transaction (`fees.outbox`)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fees.models.journal import JournalEntry


class PaymentShare(models.Model):
    """The part of a money movement (payment, reversal, refund) that goes to one fee, as the
    library system is told at booking time: the fees it was made for first, then the
    oldest, as the settlement offsets them. Written with the movement, never changed."""

    movement = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="shares")
    # None: the part for no fee, which becomes (or, for a refund, comes out of) credit.
    fee = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount_cents = models.BigIntegerField(_("amount (cents)"))

    class Meta:
        verbose_name = _("payment share")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="share_amount_positive"),
        ]

    def __str__(self):
        return f"{self.movement_id} → {self.fee_id}: {self.amount_cents}"


class Delivery(models.Model):
    """A money movement to be told to the library system: recorded in the booking's own
    transaction, sent by the worker (`manage.py deliver`) with its one idempotency key.

    It is also the library system's feed of money movements (`txid` orders it by commit
    on PostgreSQL, so a reader never misses a late-committing booking).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        RETRYING = "retrying", _("Retrying")
        DELIVERED = "delivered", _("In the library system")
        FAILED = "failed", _("Refused: waits for staff")
        RESOLVED = "resolved", _("Resolved by hand")
        SKIPPED = "skipped", _("Not sent: the library system reported it")
        PORTAL_ONLY = "portal_only", _("Not sent: a service fee the library system does not know")

    # The library system hears of a movement by delivery or by reading the feed, one rule
    # for both: these it reported itself, so it is told of them neither way (a system
    # reading the feed would otherwise book them twice); and the taking back of a service
    # fee, which the library system never had (feed.movement leaves service fees out of
    # the payments it is told of). A delivery never enters or
    # leaves this set after its booking commits, which keeps the feed's cursor sound.
    NOT_SENT = (Status.SKIPPED, Status.PORTAL_ONLY)
    # What the worker sends when its time comes (the partial index `delivery_due`).
    DUE = (Status.PENDING, Status.RETRYING)
    # Not in the library system: a reversal of such a payment waits (sent first, it would
    # have the library system charge its fees again for money it never heard of), and
    # staff may have it sent again.
    NOT_THERE = (*DUE, Status.FAILED)
    # In the library system by the worker's sending or by its own report; the desk lists
    # the rest as not in it yet (staff see what they resolved by hand there too).
    ARRIVED = (Status.DELIVERED, *NOT_SENT)
    # Nothing more to send: resolving by hand is refused for these.
    SETTLED = (Status.DELIVERED, Status.RESOLVED, *NOT_SENT)

    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="delivery", verbose_name=_("booking")
    )
    key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    target = models.CharField(_("sent to"), max_length=16, blank=True)
    answer = models.CharField(_("their answer"), max_length=255, blank=True)
    # A worker's lease: it sends the delivery with no transaction open, so other workers
    # know it is taken by this, and take it over when a worker that died lets it run out.
    claimed_until = models.DateTimeField(
        _("being sent until"), null=True, blank=True, editable=False
    )
    # PostgreSQL: the booking transaction's id (see fees.outbox); 0 on SQLite, one writer.
    txid = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery to the library system")
        verbose_name_plural = _("deliveries to the library system")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="delivery_status"),
            models.Index(fields=["txid", "id"], name="delivery_feed"),
        ]

    # Added here, as Meta's body cannot see DUE: the worker's claim reads by this index.
    Meta.indexes.insert(
        0,
        models.Index(
            fields=["next_attempt_at"], condition=Q(status__in=[*DUE]), name="delivery_due"
        ),
    )

    def __str__(self):
        return self.key

    @property
    def is_being_sent(self) -> bool:
        return self.claimed_until is not None and self.claimed_until > timezone.now()
