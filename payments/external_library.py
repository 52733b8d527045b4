"""What the library system does through the API besides posting: keep patrons up to date,
correct, cancel and re-send its fees, and read the money that moved here.

A client's ids live in its library system's namespace (ApiClient.library_system).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Patron
from accounts.services import patron_update
from fees import corrections
from fees.models import EntryKind, JournalEntry
from payments.external import (
    Answer,
    Conflict,
    NotFound,
    check_currency,
    patron_body,
    patron_by_number,
    patron_from_request,
)
from payments.library_systems.feed import money_movements
from payments.models import ApiClient


def external_patron_upsert(*, client: ApiClient, user_number: str, data: dict) -> Answer:
    """Create the patron, or take its current card number, name and e-mail. Sending the same
    data again changes nothing."""
    taken = _("That card number or id belongs to another patron.")
    with transaction.atomic():
        patron = _locked_patron(user_number)
        if patron is None:
            try:
                with transaction.atomic():
                    patron = patron_from_request(client=client, user_number=user_number, data=data)
                return Answer(201, patron_body(patron))
            except (IntegrityError, ValidationError) as refused:
                # Another call may have created it at the same moment, committing after our
                # look: before the check of unique fields (which then refused) or during
                # the insert (which the unique index held until that commit). Then this
                # call updates it, as any PUT of a known patron does.
                patron = _locked_patron(user_number)
                if patron is None and isinstance(refused, IntegrityError):
                    raise Conflict(taken) from None
                if patron is None:
                    raise
        try:
            with transaction.atomic():
                patron_update(
                    patron=patron,
                    card_number=data["card_number"],
                    last_name=data["last_name"],
                    first_name=data.get("first_name", ""),
                    email=data.get("email", ""),
                    external_id=data.get("external_id") or None,
                )
        except IntegrityError:
            raise Conflict(taken) from None
        patron.refresh_from_db()
        return Answer(200, patron_body(patron))


def _locked_patron(user_number: str) -> Patron | None:
    return Patron.objects.select_for_update().filter(user_number=user_number).first()


def _fee(client: ApiClient, fee_id: str) -> JournalEntry:
    fee = JournalEntry.objects.filter(
        kind=EntryKind.FEE, source_system=client.library_system, external_id=fee_id
    ).first()
    if fee is None:
        raise NotFound(_("No fee %(id)s from this library system.") % {"id": fee_id})
    return fee


def _correction_body(fee_id: str, correction: corrections.Correction) -> dict:
    return {
        "fee_id": fee_id,
        "entry_id": correction.fee.pk,
        "charged_before_cents": correction.charged_before,
        "charged_cents": correction.charged_after,
        "booked_entry_id": correction.booked.pk if correction.booked else None,
        "already_paid_cents": correction.already_paid_cents,
        "in_open_order": correction.in_open_order,
    }


def external_fee_correct(*, client: ApiClient, fee_id: str, amount_cents: int, reason: str):
    """Set a fee's amount as the library system now charges it (0: cancelled)."""
    correction = corrections.fee_correct(
        fee=_fee(client, fee_id), amount_cents=amount_cents, note=reason
    )
    return Answer(200, _correction_body(fee_id, correction))


def external_fees_sync(*, client: ApiClient, user_number: str, fees: list[dict]) -> Answer:
    for index, item in enumerate(fees):
        check_currency(item["currency"], field=f"fees.{index}.currency")
    try:
        result = corrections.fees_sync(
            patron=patron_by_number(user_number),
            system=client.library_system,
            fees=fees,
            note=_("Synchronised by %(client)s") % {"client": client.name},
        )
    except corrections.FeeOfAnotherPatron as refused:
        raise Conflict(refused.messages[0]) from refused
    return Answer(
        200,
        {
            "user_number": user_number,
            "booked": [fee.external_id for fee in result.booked],
            "corrected": [_correction_body(c.fee.external_id, c) for c in result.corrected],
            "cancelled": [_correction_body(c.fee.external_id, c) for c in result.cancelled],
            "unchanged": [fee.external_id for fee in result.unchanged],
        },
    )


def external_movements(*, cursor: str, limit: int) -> dict:
    page = money_movements(cursor=cursor, limit=limit)
    return {"movements": page.movements, "next_cursor": page.next_cursor}
