"""The library system corrects, cancels and re-sends its fees. Always a new entry.

A fee's *charged* amount is what the library system set: the fee, plus its increases,
less its reductions (`fees.selectors.FeeGroup`). A correction makes the charged amount
exactly the library system's new one, whatever was paid: money received for the fee
is never taken back, and what was paid beyond the new amount becomes the patron's
credit (staff refund it if the library says so). The reductions land on what is unpaid
of the fee first (the fee, an increase, a reversal that re-opened it), so the
settlement offsets each where it belongs; the part beyond lands on the fee, which is
paid, and is left over as credit. A fee in an online payment in progress is corrected
all the same: if that payment completes, what it pays beyond becomes credit.

A fee that vanishes from the library system's set of open fees was closed there
(written off, or paid at its desk): only what is unpaid of it here is written off.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees.amounts import is_whole_cents
from fees.models import EntryKind, JournalEntry
from fees.selectors import FeeGroup, fee_groups, fee_unpaid_cents, unpaid_cents
from fees.services import amount_check, currency_check, entry_book, fee_book, patron_lock
from fees.signals import reserved_debit_ids


@dataclass
class Correction:
    fee: JournalEntry
    charged_before: int
    charged_after: int
    entries: list[JournalEntry] = field(default_factory=list)
    # Money received for the fee beyond its new amount: not taken back, now the patron's.
    already_paid_cents: int = 0
    in_open_order: bool = False

    @property
    def booked(self) -> JournalEntry | None:
        """The first entry the correction booked (an increase, or a reduction), if any."""
        return self.entries[0] if self.entries else None


class FeeOfAnotherPatron(ValidationError):
    """The library system's id names a fee this portal holds for another patron."""

    def __init__(self, fee_id: str):
        super().__init__(
            _("The fee %(fee_id)s belongs to another patron here.") % {"fee_id": fee_id},
            code="fee_of_another_patron",
        )
        self.fee_id = fee_id


def charged_cents(fee: JournalEntry) -> int:
    return fee_groups(fee.patron_id, [fee.pk])[fee.pk].charged_cents


def external_fee(*, patron: Patron, system: str, external_id: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(
        patron=patron, kind=EntryKind.FEE, source_system=system, external_id=external_id
    ).first()


@transaction.atomic
def fee_correct(*, fee: JournalEntry, amount_cents: int, note: str) -> Correction:
    """Set the fee's charged amount to `amount_cents` (zero cancels it)."""
    if not is_whole_cents(amount_cents) or amount_cents < 0:
        raise ValidationError(_("The amount must be a whole number of cents, zero or more."))
    patron = patron_lock(fee.patron_id)
    group = fee_groups(patron.pk, [fee.pk]).get(fee.pk)
    if group is None:
        raise ValidationError(_("Only a fee can be corrected."), code="not_a_fee")
    return _correct(patron, fee, group, amount_cents, note, unpaid_cents(patron.pk))


def _correct(patron, fee, group: FeeGroup, amount_cents, note, unpaid) -> Correction:
    before = group.charged_cents
    result = Correction(
        fee=fee, charged_before=before, charged_after=amount_cents,
        in_open_order=bool(set(group.debit_ids) & reserved_debit_ids([patron.pk])),
    )  # fmt: skip
    if amount_cents > before:
        amount_check(amount_cents - before)
        increase = entry_book(
            patron=patron, kind=EntryKind.FEE, amount_cents=amount_cents - before,
            currency=fee.currency, target=fee, owner_id=fee.owner_id, fee_type=fee.fee_type,
            description=_("Increase: %(fee)s") % {"fee": fee.description},
            item=fee.item, note=note,
        )  # fmt: skip
        result.entries.append(increase)
    elif amount_cents < before:
        reduce = before - amount_cents
        for debit_id in group.debit_ids:
            cents = min(reduce, unpaid.get(debit_id, 0))
            if cents:
                result.entries.append(_reduction(patron, fee, debit_id, cents, note))
                reduce -= cents
        result.already_paid_cents = reduce
        if reduce:
            result.entries.append(_reduction(patron, fee, fee.pk, reduce, note))
    return result


def _reduction(patron, fee, debit_id, cents, note) -> JournalEntry:
    return entry_book(
        patron=patron, kind=EntryKind.REDUCTION, amount_cents=cents,
        currency=fee.currency, target_id=debit_id, owner_id=fee.owner_id, note=note,
    )  # fmt: skip


@transaction.atomic
def fee_write_off(*, fee: JournalEntry, note: str) -> Correction:
    """The library system closed the fee: what is unpaid of it here is written off; what
    was paid of it stays paid."""
    patron = patron_lock(fee.patron_id)
    group = fee_groups(patron.pk, [fee.pk])[fee.pk]
    unpaid = unpaid_cents(patron.pk)
    target = group.charged_cents - fee_unpaid_cents(group, unpaid)
    return _correct(patron, fee, group, max(0, target), note, unpaid)


def fee_cancel(*, fee: JournalEntry, note: str) -> Correction:
    """The library system cancelled the fee (lost item found, ...): it charges nothing, and
    what was paid of it becomes the patron's credit."""
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
    that are open here but missing from the set written off (as far as they are unpaid).
    Each item: fee_id, amount_cents (its charged amount), currency, description and
    optionally fee_type, external_type, item, owner (its code). A fee id this portal holds
    for another patron is refused (`FeeOfAnotherPatron`) and nothing is written.
    """
    patron = patron_lock(patron)
    ids = [item["fee_id"] for item in fees]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("A fee id appears twice in the set."), code="duplicate")
    for item in fees:
        currency_check(item.get("currency"))
    known = {
        fee.external_id: fee
        for fee in JournalEntry.objects.filter(
            patron=patron, kind=EntryKind.FEE, source_system=system, external_id__gt=""
        )
    }
    foreign = (
        JournalEntry.objects.filter(
            kind=EntryKind.FEE, source_system=system, external_id__in=set(ids) - set(known)
        )
        .order_by("external_id")
        .values_list("external_id", flat=True)
        .first()
    )
    if foreign is not None:
        raise FeeOfAnotherPatron(foreign)
    groups = fee_groups(patron.pk)
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
                    owner=item.get("owner", ""),
                )
            )
        elif groups[fee.pk].charged_cents == item["amount_cents"]:
            result.unchanged.append(fee)
        else:
            result.corrected.append(
                fee_correct(fee=fee, amount_cents=item["amount_cents"], note=note)
            )
    sent = set(ids)
    unpaid = unpaid_cents(patron.pk)
    for external_id, fee in known.items():
        if external_id not in sent and fee_unpaid_cents(groups[fee.pk], unpaid) > 0:
            result.cancelled.append(fee_write_off(fee=fee, note=note))
    return result
