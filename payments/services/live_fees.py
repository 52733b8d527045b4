"""Fees read live from the library system: the library system is the truth of what a
patron owes whenever its target can read (`reading.ReadingTarget`).

A read happens outside any transaction (the library system may be slow); what it found is
then applied under the patron's lock, so two reads for one patron apply one after the
other, each against the ledger as it is then. Applying compares, fee by fee, what the
library system says is outstanding with what it should say given the ledger: what is
unpaid here, plus the money paid here that has not reached it yet (deliveries still to
send), less the chargebacks that have not. A difference is the library system's own
change (a fee raised or lowered at its desk, paid or cancelled there, a new fee), and is
booked as a correction with the sync's rules (`fees.corrections`): money received is
never taken back, what was paid beyond a lowered fee becomes credit.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Patron
from accounts.services import patron_update
from fees.corrections import FeeOfAnotherPatron, fee_correct
from fees.models import Delivery, EntryKind, FeeKind, FeeType, JournalEntry, Owner, PaymentShare
from fees.selectors import fee_groups, fee_unpaid_cents, unpaid_cents
from fees.services import fee_book, patron_lock
from payments.library_systems import get_target
from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.reading import LibraryAccount, LibraryFee, MalformedAnswer
from payments.models import FeesRead, PaymentOrder
from payments.services.orders import order_create

logger = logging.getLogger(__name__)

READ_ERRORS = (TransientError, PermanentError, MalformedAnswer, FeeOfAnotherPatron)


@dataclass(frozen=True)
class ReadState:
    """How the patron's fees stand against the library system."""

    live: bool  # the library system is read at all (a target that reads, a linked patron)
    ok: bool = True  # the last read succeeded: the fees shown are the library system's
    read_at: datetime.datetime | None = None  # when they were last read successfully
    changed: bool = False  # this read changed the ledger


def reading_target():
    """The portal's library-system target if it can read fees; None otherwise."""
    target = get_target()
    return target if target is not None and hasattr(target, "read_account") else None


def fees_read(*, patron: Patron, max_age_seconds: float | None = None, target=None) -> ReadState:
    """Read the patron's fees from the library system and apply them, unless they were read
    less than `max_age_seconds` ago (None: read now). A read that fails changes nothing;
    it is logged and recorded for the desk."""
    target = target or reading_target()
    if target is None or not patron.external_id:
        return ReadState(live=False)
    record, _created = FeesRead.objects.get_or_create(patron=patron)
    now = timezone.now()
    if (
        max_age_seconds is not None
        and not record.failing
        and record.read_at is not None
        and (now - record.read_at).total_seconds() < max_age_seconds
    ):
        return ReadState(live=True, read_at=record.read_at)
    try:
        account = target.read_account(patron.external_id)
        return account_taken(patron=patron, account=account, read_at=now)
    except READ_ERRORS as error:
        logger.warning("Reading the fees of patron %s failed: %s", patron.pk, error)
        FeesRead.objects.filter(pk=record.pk).update(
            failed_at=timezone.now(), failure=str(error)[:500]
        )
        return ReadState(live=True, ok=False, read_at=record.read_at)


def account_taken(*, patron: Patron, account: LibraryAccount, read_at=None) -> ReadState:
    """Apply what was just read of the patron's account and note when it was read. Raises
    the READ_ERRORS that applying can raise, with nothing applied."""
    read_at = read_at or timezone.now()
    changed = account_apply(patron=patron, account=account)
    FeesRead.objects.update_or_create(patron=patron, defaults={"read_at": read_at})
    return ReadState(live=True, read_at=read_at, changed=changed)


def read_state(*, patron: Patron, target=None) -> ReadState:
    """How the patron's fees stand, from the last read, without reading again."""
    if not patron.external_id or (target or reading_target()) is None:
        return ReadState(live=False)
    record = FeesRead.objects.filter(patron=patron).first()
    if record is None:
        return ReadState(live=True, ok=False)
    return ReadState(live=True, ok=not record.failing, read_at=record.read_at)


def fees_check_before_paying(*, patron: Patron) -> ReadState:
    """Read the patron's fees right before a payment starts. Raise ValidationError when
    they could not be checked, or when the library system changed them: the patron then
    sees the new state and chooses again."""
    read = fees_read(patron=patron)
    if read.live and not read.ok:
        raise ValidationError(LIBRARY_SYSTEM_UNREACHABLE, code="library_system_unreachable")
    if read.changed:
        raise ValidationError(
            _("Your fees changed in the library system: please check your selection."),
            code="fees_changed",
        )
    return read


def order_create_checked(*, patron: Patron, fee_ids, provider_name: str = "") -> PaymentOrder:
    """An order for the selected fees, made only on fees just read from the library system
    (where it is read at all) and unchanged there: every way of starting a payment goes
    through here. Raises ValidationError as `fees_check_before_paying` and `order_create`."""
    fees_check_before_paying(patron=patron)
    return order_create(patron=patron, fee_ids=fee_ids, provider_name=provider_name)


LIBRARY_SYSTEM_UNREACHABLE = gettext_lazy(
    "The library system cannot be reached right now, so your fees cannot be checked and "
    "payment is not possible at the moment. Nothing has been charged; please try again later."
)


@transaction.atomic
def account_apply(*, patron: Patron, account: LibraryAccount, system: str = "") -> bool:
    """Make the ledger hold what the library system says the patron owes; whether anything
    was booked. `system`: the library system's name for its ids ("" for the portal's)."""
    patron = patron_lock(patron)
    _patron_data_apply(patron, account)
    note = _("Read from the library system")
    known = {
        fee.external_id: fee
        for fee in JournalEntry.objects.filter(
            patron=patron, kind=EntryKind.FEE, source_system=system, external_id__gt=""
        )
    }
    said = {fee.fee_id: fee for fee in account.fees}
    new = [fee for fee_id, fee in said.items() if fee_id not in known and fee.outstanding_cents]
    foreign = JournalEntry.objects.filter(
        kind=EntryKind.FEE, source_system=system, external_id__in=[fee.fee_id for fee in new]
    ).first()
    if foreign is not None:
        raise FeeOfAnotherPatron(foreign.external_id)
    groups = fee_groups(patron.pk)
    unpaid = unpaid_cents(patron.pk)
    in_transit = _money_on_its_way(patron, groups)
    changed = False
    for external_id, fee in known.items():
        group = groups[fee.pk]
        outstanding = said[external_id].outstanding_cents if external_id in said else 0
        expected = fee_unpaid_cents(group, unpaid) + in_transit[fee.pk]
        if outstanding != expected:
            amount = max(0, group.charged_cents + outstanding - expected)
            fee_correct(fee=fee, amount_cents=amount, note=note)
            changed = True
    for fee in new:
        _fee_book(patron, fee, system, note)
        changed = True
    return changed


def _money_on_its_way(patron: Patron, groups) -> dict[int, int]:
    """Per fee: the money paid here that the library system has not heard of yet, less the
    chargebacks it has not heard of (deliveries not there yet)."""
    root_of = {debit: group.fee_id for group in groups.values() for debit in group.debit_ids}
    shares = PaymentShare.objects.filter(
        movement__patron=patron,
        movement__delivery__status__in=Delivery.NOT_THERE,
        fee__isnull=False,
    ).values_list("fee_id", "movement__kind", "amount_cents")
    on_its_way: dict[int, int] = defaultdict(int)
    for fee_id, kind, cents in shares:
        if fee_id in root_of:
            on_its_way[root_of[fee_id]] += cents if kind == EntryKind.PAYMENT else -cents
    return on_its_way


def _fee_book(patron: Patron, fee: LibraryFee, system: str, note: str) -> JournalEntry:
    kind = FeeKind.objects.filter(code=fee.external_type).first()
    owner = fee.owner_code if Owner.objects.filter(code=fee.owner_code).exists() else ""
    if fee.owner_code and not owner:
        logger.warning("Fee %s names owner %s, unknown here: booked as the default owner's",
                       fee.fee_id, fee.owner_code)  # fmt: skip
    return fee_book(
        patron=patron,
        amount_cents=fee.outstanding_cents,
        description=fee.description or fee.external_type or fee.fee_id,
        fee_type=kind.code if kind else FeeType.OTHER,
        item=fee.item,
        currency=settings.LIBRARY_CURRENCY,
        note=note,
        source_system=system,
        external_id=fee.fee_id,
        external_type=fee.external_type,
        owner=owner,
    )


def _patron_data_apply(patron: Patron, account: LibraryAccount) -> None:
    """The patron's data as the library system has it, as `PUT /patrons/{n}` takes it."""
    record = account.patron
    try:
        patron_update(
            patron=patron,
            card_number=record.card_number or patron.card_number,
            last_name=record.last_name or patron.last_name,
            first_name=record.first_name or patron.first_name,
            email=record.email or patron.email,
        )
    except ValidationError as error:
        raise MalformedAnswer(f"the patron's data: {'; '.join(error.messages)}") from error
