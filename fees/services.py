"""Writes to the ledger. Each booking is one transaction with the patron's row locked.

Callers pass amounts as positive whole cents; the entry kind decides the sign
stored in the journal. Bad input raises ValidationError before anything is written.
"""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees.amounts import format_money, is_whole_cents
from fees.models import (
    DEBIT_KINDS,
    PAYABLE_KINDS,
    EntryKind,
    FeeKind,
    FeeType,
    JournalEntry,
    Owner,
)
from fees.outbox import movement_record, reversal_parts
from fees.selectors import balance_cents, unpaid_cents


def patron_lock(patron: Patron | int) -> Patron:
    patron_id = patron.pk if isinstance(patron, Patron) else patron
    locked = Patron.objects.select_for_update().filter(pk=patron_id).first()
    if locked is None:
        raise ValidationError(_("Unknown patron."), code="unknown_patron")
    return locked


def amount_check(amount_cents) -> None:
    if not is_whole_cents(amount_cents):
        raise ValidationError(_("The amount must be a whole number of cents."), code="invalid")
    if amount_cents <= 0:
        raise ValidationError(_("The amount must be greater than zero."), code="not_positive")


def _portion(amount_cents: int | None, *, of: int) -> int:
    """A checked part of what is left of a fee or payment; all of it when not given."""
    amount_cents = of if amount_cents is None else amount_cents
    amount_check(amount_cents)
    return amount_cents


def currency_check(currency: str | None) -> str:
    currency = currency or settings.LIBRARY_CURRENCY
    if currency != settings.LIBRARY_CURRENCY:
        raise ValidationError(
            _("Only amounts in %(currency)s can be booked.")
            % {"currency": settings.LIBRARY_CURRENCY},
            code="wrong_currency",
        )
    return currency


def _fees_of(patron: Patron, fees: Iterable[JournalEntry]) -> list[JournalEntry]:
    # Journal rows never change patron or kind, so the rows as read are the truth.
    fees = list(fees)
    for fee in fees:
        if fee.pk is None or fee.patron_id != patron.pk or fee.kind not in PAYABLE_KINDS:
            raise ValidationError(
                _("A selected fee does not belong to this patron."), code="foreign_fee"
            )
    return fees


def entry_book(
    *, patron: Patron, kind: str, amount_cents: int, currency: str, **fields
) -> JournalEntry:
    now = timezone.now()
    sign = 1 if kind in DEBIT_KINDS else -1
    return JournalEntry.objects.create(
        patron=patron,
        kind=kind,
        amount_cents=sign * amount_cents,
        currency=currency,
        booked_at=now,
        business_date=timezone.localdate(now),
        **fields,
    )


def _credit_for_fees(*, patron, kind, for_fees, **fields) -> tuple[JournalEntry, list]:
    """A credit (payment, credit note) that names the patron's fees it is meant for."""
    fees = _fees_of(patron, for_fees)
    entry = entry_book(patron=patron, kind=kind, **fields)
    entry.for_fees.add(*fees)
    return entry, fees


@transaction.atomic
def fee_book(
    *,
    patron: Patron | int,
    amount_cents: int,
    description: str,
    fee_type: str = FeeType.OTHER,
    item: str = "",
    currency: str | None = None,
    booked_by: AbstractBaseUser | None = None,
    note: str = "",
    source_system: str = "",
    external_id: str = "",
    external_type: str = "",
    owner: str = "",
) -> JournalEntry:
    """A fee; one from the library system carries its id and fee type code there, and
    the code of its owner (none: the default owner's)."""
    amount_check(amount_cents)
    currency = currency_check(currency)
    if not fee_type or not FeeKind.objects.filter(code=fee_type).exists():
        raise ValidationError(_("Unknown fee type."), code="invalid_fee_type")
    if not description.strip():
        raise ValidationError(_("A fee needs a description."), code="required")
    fee_owner = Owner.objects.for_code(owner)
    patron = patron_lock(patron)
    return entry_book(
        patron=patron,
        kind=EntryKind.FEE,
        amount_cents=amount_cents,
        currency=currency,
        fee_type=fee_type,
        owner=fee_owner,
        description=description.strip(),
        item=item,
        booked_by=booked_by,
        note=note,
        source_system=source_system,
        external_id=external_id,
        external_type=external_type,
    )


@transaction.atomic
def payment_book(
    *,
    patron: Patron | int,
    amount_cents: int,
    for_fees: Iterable[JournalEntry] = (),
    method: str = "",
    reference: str = "",
    currency: str | None = None,
    booked_by: AbstractBaseUser | None = None,
    note: str = "",
    booking_key: str = "",
    tell_library_system: bool = True,
    patron_locked: bool = False,
    owner: Owner | None = None,
) -> JournalEntry:
    """Money received from the patron. It may exceed the balance: the rest becomes credit.
    `owner`: whose merchant account it reached (an online payment's order's owner).

    `booking_key` names what the payment books; the journal holds each key once. The
    library system is told of it (a Delivery), unless it is the one that reported it.
    `patron_locked`: the caller passes a Patron whose row it locked in this transaction
    (the order transition does), so it is not read again.
    """
    amount_check(amount_cents)
    currency = currency_check(currency)
    if not (patron_locked and isinstance(patron, Patron)):
        patron = patron_lock(patron)
    entry, fees = _credit_for_fees(
        patron=patron, kind=EntryKind.PAYMENT, for_fees=for_fees, amount_cents=amount_cents,
        currency=currency, method=method, reference=reference, booked_by=booked_by,
        note=note, booking_key=booking_key, owner=owner,
    )  # fmt: skip
    movement_record(entry=entry, preferred=fees, send=tell_library_system)
    return entry


@transaction.atomic
def credit_note_book(
    *,
    patron: Patron | int,
    amount_cents: int,
    note: str,
    for_fees: Iterable[JournalEntry] = (),
    currency: str | None = None,
    booked_by: AbstractBaseUser | None = None,
    booking_key: str = "",
    owner: Owner | None = None,
) -> JournalEntry:
    """A "Gutschrift": the library (`owner`) credits the patron without money changing
    hands."""
    amount_check(amount_cents)
    currency = currency_check(currency)
    if not note.strip():
        raise ValidationError(_("A credit note needs a reason."), code="required")
    patron = patron_lock(patron)
    entry, _fees = _credit_for_fees(
        patron=patron, kind=EntryKind.CREDIT_NOTE, for_fees=for_fees, amount_cents=amount_cents,
        currency=currency, booked_by=booked_by, note=note, booking_key=booking_key,
        owner=owner,
    )  # fmt: skip
    return entry


@transaction.atomic
def waiver_book(
    *,
    fee: JournalEntry,
    note: str,
    amount_cents: int | None = None,
    booked_by: AbstractBaseUser | None = None,
) -> JournalEntry:
    """Waive all of a fee's open amount, or part of it."""
    patron = patron_lock(fee.patron_id)
    fee = JournalEntry.objects.filter(pk=fee.pk, patron=patron, kind=EntryKind.FEE).first()
    if fee is None:
        raise ValidationError(_("Only a fee can be waived."), code="not_a_fee")
    if not note.strip():
        raise ValidationError(_("A waiver needs a reason."), code="required")
    # Money received for the fee (its payments' shares, settled or not) is not waived again.
    open_cents = unpaid_cents(patron.pk).get(fee.pk, 0)
    if open_cents <= 0:
        raise ValidationError(_("This fee has nothing left to waive."), code="nothing_open")
    amount_cents = _portion(amount_cents, of=open_cents)
    if amount_cents > open_cents:
        raise ValidationError(
            _("At most %(open)s of this fee is open and can be waived.")
            % {"open": format_money(open_cents, fee.currency)},
            code="exceeds_open",
        )
    return entry_book(
        patron=patron,
        kind=EntryKind.WAIVER,
        amount_cents=amount_cents,
        currency=fee.currency,
        target=fee,
        owner_id=fee.owner_id,  # what is waived is the fee's owner's
        booked_by=booked_by,
        note=note,
    )


@transaction.atomic
def refund_book(
    *,
    patron: Patron | int,
    amount_cents: int,
    method: str = "",
    currency: str | None = None,
    booked_by: AbstractBaseUser | None = None,
    note: str = "",
    reference: str = "",
    booking_key: str = "",
    within_credit: bool = True,
    owner: Owner | None = None,
) -> JournalEntry:
    """Money paid back to the patron; at the counter it can only come out of their credit.

    A refund the provider has confirmed is booked `within_credit=False`: its money has
    left, whatever the patron's account says by now.
    """
    amount_check(amount_cents)
    currency = currency_check(currency)
    patron = patron_lock(patron)
    credit_cents = -balance_cents(patron=patron)
    if within_credit and amount_cents > credit_cents:
        raise ValidationError(
            _("Only the patron's credit of %(credit)s can be refunded.")
            % {"credit": format_money(max(0, credit_cents), currency)},
            code="exceeds_credit",
        )
    entry = entry_book(
        patron=patron,
        kind=EntryKind.REFUND,
        amount_cents=amount_cents,
        currency=currency,
        method=method,
        reference=reference,
        booked_by=booked_by,
        note=note,
        booking_key=booking_key,
        owner=owner,
    )
    movement_record(entry=entry)
    return entry


def reversible_cents(*, payment: JournalEntry, refunded_cents: int = 0) -> int:
    """What of a payment a chargeback can still take back: the payment less its reversals
    and `refunded_cents`, the money of it already paid back to the patron."""
    already = (
        JournalEntry.objects.filter(target=payment, kind=EntryKind.REVERSAL).aggregate(
            total=Sum("amount_cents")
        )["total"]
        or 0
    )
    return -payment.amount_cents - already - refunded_cents


@transaction.atomic
def reversal_book(
    *,
    payment: JournalEntry,
    amount_cents: int | None = None,
    reference: str = "",
    booked_by: AbstractBaseUser | None = None,
    note: str = "",
    refunded_cents: int = 0,
) -> list[JournalEntry]:
    """A payment taken back after it was booked (a chargeback): the amount is owed again.

    One reversal per fee the payment paid (and one for its part that was credit), so that
    each re-opens exactly one fee: what was paid of that fee and is now owed again. What
    can be taken back is the payment less earlier reversals and `refunded_cents` (money
    of it already gone back to the patron); all of that when no amount is given.
    """
    patron = patron_lock(payment.patron_id)
    payment = JournalEntry.objects.filter(
        pk=payment.pk, patron=patron, kind=EntryKind.PAYMENT
    ).first()
    if payment is None:
        raise ValidationError(_("Only a payment can be reversed."), code="not_a_payment")
    reversible = reversible_cents(payment=payment, refunded_cents=refunded_cents)
    if reversible <= 0:
        raise ValidationError(_("This payment has already been reversed."), code="already_reversed")
    amount_cents = _portion(amount_cents, of=reversible)
    if amount_cents > reversible:
        raise ValidationError(
            _("At most %(amount)s of this payment can be reversed.")
            % {"amount": format_money(reversible, payment.currency)},
            code="exceeds_payment",
        )
    reversals = []
    for fee_id, cents in reversal_parts(payment):
        cents = min(cents, amount_cents)
        if not cents:
            break
        entry = entry_book(
            patron=patron,
            kind=EntryKind.REVERSAL,
            amount_cents=cents,
            currency=payment.currency,
            target=payment,
            reference=reference,
            booked_by=booked_by,
            note=note,
            owner_id=payment.owner_id,  # the money goes back from the account it reached
        )
        movement_record(entry=entry, reopens=fee_id)
        reversals.append(entry)
        amount_cents -= cents
    return reversals
