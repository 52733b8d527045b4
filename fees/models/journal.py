"""The fees ledger ("Gebührenjournal").

Entries are append-only: amounts are never changed and rows never deleted; a
correction is a new entry. Only the daily settlement writes to an entry after
it is booked, and only to mark it settled (`settled_in`) and fully offset
(`cleared_in`). A database trigger refuses any other change.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from fees.amounts import format_money


class EntryKind(models.TextChoices):
    FEE = "fee", _("Fee")
    PAYMENT = "payment", _("Payment")
    CREDIT_NOTE = "credit_note", _("Credit note")
    WAIVER = "waiver", _("Waiver")
    REFUND = "refund", _("Refund")
    REVERSAL = "reversal", _("Payment reversal")
    # The library system lowered or cancelled a fee it had sent: a credit on that fee.
    REDUCTION = "reduction", _("Fee reduced by the library system")


# Positive entries are what the patron owes (debits); negative ones pay for them (credits).
DEBIT_KINDS = (EntryKind.FEE.value, EntryKind.REFUND.value, EntryKind.REVERSAL.value)
CREDIT_KINDS = (
    EntryKind.PAYMENT.value,
    EntryKind.CREDIT_NOTE.value,
    EntryKind.WAIVER.value,
    EntryKind.REDUCTION.value,
)
# Credits meant for one fee (their target): the settlement offsets them there first.
TARGETED_CREDIT_KINDS = (EntryKind.WAIVER.value, EntryKind.REDUCTION.value)
# Money that moved: what the library system is told of.
MONEY_KINDS = (EntryKind.PAYMENT.value, EntryKind.REVERSAL.value, EntryKind.REFUND.value)
# What a patron can select and pay: fees, and payments reversed after a chargeback.
PAYABLE_KINDS = (EntryKind.FEE.value, EntryKind.REVERSAL.value)


# The codes the portal started with; staff manage the fee types themselves (FeeKind).
class FeeType(models.TextChoices):
    OVERDUE = "overdue", _("Overdue fine")
    LOST_ITEM = "lost_item", _("Lost or damaged item")
    REMINDER = "reminder", _("Reminder fee")
    MEMBERSHIP = "membership", _("Membership fee")
    RESERVATION = "reservation", _("Reservation fee")
    OTHER = "other", _("Other fee")
    # What an owner adds to each online payment (Owner.service_fee_cents); booked by the
    # portal itself and never told to the library system, which does not know it.
    SERVICE_FEE = "service_fee", _("Service fee for paying online")


class FeeKind(models.Model):
    """A fee type as staff manage it. Fees keep only its code (`JournalEntry.fee_type`),
    so a type is never deleted, only no longer payable online."""

    code = models.CharField(
        _("code"),
        max_length=16,
        unique=True,
        help_text=_("As the library system names the fee type when it sends fees."),
    )
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_de = models.CharField(_("name (German)"), max_length=100, blank=True)
    payable_online = models.BooleanField(_("payable online"), default=True)
    cost_centre = models.CharField(_("cost centre"), max_length=64, blank=True)
    budget_line = models.CharField(_("budget line"), max_length=64, blank=True)
    object_number = models.CharField(_("object number"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("fee type")
        verbose_name_plural = _("fee types")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} ({self.name})"

    @property
    def name(self) -> str:
        return name_in_language(self.name_en, self.name_de) or self.code


def name_in_language(name_en: str, name_de: str) -> str:
    """A name staff gave in English and German, in the interface language (English when
    there is no German one)."""
    if (get_language() or "").startswith("de") and name_de:
        return name_de
    return name_en


def service_fee_kind() -> "FeeKind":
    """The fee type of service fees (migration 0008 makes it; a database emptied since
    gets it back here)."""
    kind, _created = FeeKind.objects.get_or_create(
        code=FeeType.SERVICE_FEE,
        defaults={
            "name_en": "Service fee for paying online",
            "name_de": "Servicegebühr für die Online-Zahlung",
        },
    )
    return kind


def fee_type_name(code: str) -> str:
    """A fee type code's name in the interface language; the code itself when unknown."""
    kind = FeeKind.objects.filter(code=code).first() if code else None
    return kind.name if kind else code


class Settlement(models.Model):
    """One daily settlement ("Tagesabschluss") per business date."""

    business_date = models.DateField(_("business date"), unique=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    entries_settled = models.PositiveIntegerField(_("entries settled"), default=0)
    allocations_made = models.PositiveIntegerField(_("allocations made"), default=0)
    debits_cents = models.BigIntegerField(_("debits settled (cents)"), default=0)
    credits_cents = models.BigIntegerField(_("credits settled (cents)"), default=0)
    allocated_cents = models.BigIntegerField(_("allocated (cents)"), default=0)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-business_date"]

    def __str__(self):
        return str(self.business_date)

    @property
    def is_finished(self):
        return self.finished_at is not None


class JournalEntry(models.Model):
    # No index of its own: journal_patron_booked (patron, booked_at) serves every lookup by
    # patron, and each index is one more write per booking and per row the settlement marks.
    patron = models.ForeignKey(
        "accounts.Patron",
        on_delete=models.PROTECT,
        related_name="journal_entries",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    # Signed: positive = the patron owes more. Integer minor units, never a float.
    amount_cents = models.BigIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3)
    booked_at = models.DateTimeField(_("booked at"), default=timezone.now)
    business_date = models.DateField(_("business date"))
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by"),
        db_index=False,  # journal_booked_by: only the entries that have one
    )
    # A FeeKind code, by value: the ledger outlives changes to the fee types.
    fee_type = models.CharField(_("fee type"), max_length=16, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    item = models.CharField(_("item"), max_length=255, blank=True)
    # How a payment or refund was made ("cash", "card", "online: card", ...).
    method = models.CharField(_("method"), max_length=64, blank=True)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)
    # A fee sent by the library system: its id and fee type code there, and which system.
    # (Database defaults too, so that set-based SQL that names no such column still works.)
    source_system = models.CharField(
        _("library system"), max_length=32, blank=True, default="", db_default=""
    )
    external_id = models.CharField(
        _("id in the library system"), max_length=64, blank=True, default="", db_default=""
    )
    external_type = models.CharField(
        _("fee type in the library system"), max_length=64, blank=True, default="", db_default=""
    )
    # What this entry books, when something above the ledger names it ("money:12"): the
    # unique index lets that thing be booked once, however often or concurrently it is tried.
    booking_key = models.CharField(
        _("booking key"), max_length=80, blank=True, default="", db_default=""
    )
    # Whose fee it is (a library, a branch: fees.models.owners). None: the default owner's,
    # as every entry booked before owners existed.
    owner = models.ForeignKey(
        "fees.Owner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
        db_index=False,  # fees are read per patron; no query looks for an owner's fees yet
    )
    # A waiver names the fee it waives; a reversal the payment it reverses.
    target = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("waived fee / reversed payment"),
        db_index=False,  # journal_target: only the entries that have one
    )
    # An online payment knows the fees it was made for; the settlement offsets those first.
    for_fees = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="+", verbose_name=_("paid for")
    )
    # No plain index on the two marks: the planner would prefer it to the partial
    # indexes below for "IS NULL" and scan every unsettled row of the day per batch.
    settled_in = models.ForeignKey(
        Settlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="settled_entries",
        verbose_name=_("settled in"),
    )
    cleared_in = models.ForeignKey(
        Settlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="cleared_entries",
        verbose_name=_("fully offset in"),
    )

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["booked_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=DEBIT_KINDS, amount_cents__gt=0)
                    | Q(kind__in=CREDIT_KINDS, amount_cents__lt=0)
                ),
                name="journal_sign_matches_kind",
                violation_error_message=_("The amount's sign does not match the entry kind."),
            ),
            models.CheckConstraint(
                condition=Q(cleared_in__isnull=True) | Q(settled_in__isnull=False),
                name="journal_cleared_only_when_settled",
            ),
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=Q(kind="fee") & ~Q(external_id=""),
                name="journal_fee_external_id_once",
            ),
            models.UniqueConstraint(
                fields=["booking_key"],
                condition=~Q(booking_key=""),
                name="journal_booked_once",
            ),
        ]
        indexes = [
            models.Index(fields=["patron", "booked_at"], name="journal_patron_booked"),
            # Most entries have no target and no staff booker: partial indexes leave them out,
            # one write less per booking and per row the nightly settlement marks.
            models.Index(
                fields=["target"], condition=Q(target__isnull=False), name="journal_target"
            ),
            models.Index(
                fields=["booked_by"],
                condition=Q(booked_by__isnull=False),
                name="journal_booked_by",
            ),
            models.Index(fields=["business_date"], name="journal_business_date"),
            # The settlement's working set: what is not settled yet, and what is still open.
            models.Index(
                fields=["patron", "business_date"],
                condition=Q(settled_in__isnull=True),
                name="journal_unsettled",
            ),
            models.Index(
                fields=["patron", "booked_at"],
                condition=Q(cleared_in__isnull=True),
                name="journal_uncleared",
            ),
            # Credit carried forward: the settlement looks at it again every night.
            models.Index(
                fields=["patron"],
                condition=Q(
                    kind__in=CREDIT_KINDS, settled_in__isnull=False, cleared_in__isnull=True
                ),
                name="journal_carried_credit",
            ),
            # A day's settled entries, for its export.
            models.Index(
                fields=["settled_in"],
                condition=Q(settled_in__isnull=False),
                name="journal_settled_in",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {format_money(self.amount_cents, self.currency)}"

    @property
    def fee_type_name(self) -> str:
        return fee_type_name(self.fee_type)


class Allocation(models.Model):
    """Written by the settlement: this credit paid this much of this debit."""

    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="allocations")
    credit = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="allocations_given"
    )
    debit = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="allocations_received"
    )
    amount_cents = models.BigIntegerField(_("amount (cents)"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="allocation_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["settlement", "credit", "debit"], name="allocation_once_per_settlement"
            ),
        ]

    def __str__(self):
        return f"{self.credit_id} → {self.debit_id}: {self.amount_cents}"
