"""The library system corrects, cancels and re-sends its fees. Always a new entry.

A fee's *charged* amount is what the library system set: the fee, plus increases (fee
entries targeting it), less reductions. Lowering or cancelling takes back only what the
patron has not paid yet (money received for the fee stays paid; staff refund it if the
library says so). A fee in an online payment in progress is corrected all the same: if
that payment completes, what it paid beyond the new amount becomes the patron's credit.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees.bridge import unpaid_cents
from fees.models import EntryKind, JournalEntry
from fees.services import _book, _check_amount, _check_currency, _lock_patron, fee_book
from fees.signals import settlement_held_debits


@dataclass
class Correction:
    fee: JournalEntry
    charged_before: int
    charged_after: int
    booked: JournalEntry | None = None
    # Money received for the fee beyond its new amount: not taken back, now the patron's.
    already_paid_cents: int = 0
    in_open_order: bool = False


def charged_cents(fee: JournalEntry) -> int:
    changes = (
        JournalEntry.objects.filter(
            target=fee, kind__in=[EntryKind.FEE, EntryKind.REDUCTION]
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    return fee.amount_cents + changes


def external_fee(*, patron: Patron, system: str, external_id: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(
        patron=patron, kind=EntryKind.FEE, source_system=system, external_id=external_id
    ).first()


def _held(patron_id: int) -> set[int]:
    return set().union(
        *(ids for _r, ids in settlement_held_debits.send(JournalEntry, patron_ids=[patron_id]))
    )


@transaction.atomic
def fee_correct(*, fee: JournalEntry, amount_cents: int, note: str) -> Correction:
    """Set the fee's charged amount to `amount_cents` (zero cancels it)."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents < 0:
        raise ValidationError(_("The amount must be a whole number of cents, zero or more."))
    patron = _lock_patron(fee.patron_id)
    before = charged_cents(fee)
    result = Correction(
        fee=fee, charged_before=before, charged_after=amount_cents,
        in_open_order=fee.pk in _held(patron.pk),
    )  # fmt: skip
    if amount_cents > before:
        _check_amount(amount_cents - before)
        result.booked = _book(
            patron=patron, kind=EntryKind.FEE, amount_cents=amount_cents - before,
            currency=fee.currency, target=fee, fee_type=fee.fee_type,
            description=_("Increase: %(fee)s") % {"fee": fee.description},
            item=fee.item, note=note,
        )  # fmt: skip
    elif amount_cents < before:
        unpaid = unpaid_cents(patron.pk).get(fee.pk, 0)
        reduce = min(before - amount_cents, unpaid)
        result.already_paid_cents = before - amount_cents - reduce
        if reduce:
            result.booked = _book(
                patron=patron, kind=EntryKind.REDUCTION, amount_cents=reduce,
                currency=fee.currency, target=fee, note=note,
            )  # fmt: skip
    return result


def fee_cancel(*, fee: JournalEntry, note: str) -> Correction:
    """The library system cancelled or wrote off the fee (lost item found, ...)."""
    return fee_correct(fee=fee, amount_cents=0, note=note)


@dataclass
class SyncResult:
    booked: list[JournalEntry] = field(default_factory=list)
    corrected: list[Correction] = field(default_factory=list)
    cancelled: list[Correction] = field(default_factory=list)
    unchanged: list[JournalEntry] = field(default_factory=list)


@transaction.atomic
def fees_sync(*, patron: Patron, system: str, fees: list[dict], note: str = "") -> SyncResult:
    """The library system's whole set of the patron's open fees, as the truth.

    Fees new to the portal are booked, changed amounts corrected, and fees of this system
    that are open here but missing from the set cancelled (as far as they are unpaid).
    Each item: fee_id, amount_cents (its charged amount), currency, description and
    optionally fee_type, external_type, item.
    """
    patron = _lock_patron(patron)
    ids = [item["fee_id"] for item in fees]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("A fee id appears twice in the set."), code="duplicate")
    for item in fees:
        _check_currency(item.get("currency"))
    known = {
        fee.external_id: fee
        for fee in JournalEntry.objects.filter(
            patron=patron, kind=EntryKind.FEE, source_system=system, external_id__gt=""
        )
    }
    changes = dict(
        JournalEntry.objects.filter(
            target__in=known.values(), kind__in=[EntryKind.FEE, EntryKind.REDUCTION]
        )
        .values("target_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("target_id", "total")
    )
    result = SyncResult()
    for item in fees:
        fee = known.get(item["fee_id"])
        if fee is None:
            result.booked.append(
                fee_book(
                    patron=patron,
                    amount_cents=item["amount_cents"],
                    description=item["description"],
                    fee_type=item.get("fee_type", "other"),
                    item=item.get("item", ""),
                    note=note,
                    source_system=system,
                    external_id=item["fee_id"],
                    external_type=item.get("external_type", ""),
                )
            )
            continue
        if fee.amount_cents + changes.get(fee.pk, 0) == item["amount_cents"]:
            result.unchanged.append(fee)
        else:
            result.corrected.append(
                fee_correct(fee=fee, amount_cents=item["amount_cents"], note=note)
            )
    sent = set(ids)
    unpaid = unpaid_cents(patron.pk)
    for external_id, fee in known.items():
        if external_id not in sent and unpaid.get(fee.pk, 0) > 0:
            result.cancelled.append(fee_cancel(fee=fee, note=note))
    return result
