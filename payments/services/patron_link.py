"""The patron a sign-in names: the library system vouches for them (its PIN check), or
single sign-on or the catalogue's hand-off names them by an id, a card or a user number.
Found here by the library system's id, or linked to a patron the API created without it,
or created from what the library system says of them, with their fees read in the same
round. So a library need not push its patrons to the portal before they can pay."""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.cards import normalize_card_number
from accounts.models import Patron, is_user_number
from accounts.services import patron_create, patron_update
from accounts.signin import CARD_NUMBER, EXTERNAL_ID, USER_NUMBER, SignInUnavailable
from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.reading import LibraryAccount, MalformedAnswer, PatronRecord
from payments.services.live_fees import account_taken, reading_target

logger = logging.getLogger(__name__)

LOOKUP_ERRORS = (TransientError, PermanentError, MalformedAnswer)


class CardOfAnotherPatron(MalformedAnswer):
    """The card the library system names is held here by a patron it knows by another id."""


def patron_of_library_system(*, external_id: str, target=None) -> Patron:
    """The patron the library system knows as `external_id`, made to match what it says of
    them now, with their fees just read. Raises what the read raises (TransientError,
    PermanentError, MalformedAnswer): then nothing is created."""
    target = target or reading_target()
    account: LibraryAccount = target.read_account(external_id)
    record = account.patron
    try:
        with transaction.atomic():
            patron = _patron_linked(external_id, record)
    except ValidationError as error:
        raise MalformedAnswer(f"the patron's data: {'; '.join(error.messages)}") from error
    account_taken(patron=patron, account=account)
    return Patron.objects.select_related("user").get(pk=patron.pk)


def patron_of_identity(*, value: str, match: str, target=None) -> Patron | None:
    """The patron that single sign-on or a hand-off names by `value`, matched as `match`
    says (accounts.signin.IDENTITY_MATCHES); None when neither the portal nor the library
    system knows them. With a library system that reads, the patron is read from it (and
    created here at the first sign-in); when it cannot say, a patron known here still gets
    in, and anyone else gets SignInUnavailable."""
    value = value.strip()
    if not value:
        return None
    target = target if target is not None else reading_target()
    local = _known_here(value, match)
    if target is None or match == USER_NUMBER:
        return local
    try:
        external_id = _external_id_of(value, match, local, target)
        if external_id is None:
            return local
        return patron_of_library_system(external_id=external_id, target=target)
    except PermanentError as error:
        if error.status == 404:
            return local
        return _fallback(local, value, error)
    except LOOKUP_ERRORS as error:
        return _fallback(local, value, error)


def _known_here(value: str, match: str) -> Patron | None:
    patrons = Patron.objects.select_related("user")
    if match == EXTERNAL_ID:
        return patrons.filter(source_system="", external_id=value).first()
    if match == CARD_NUMBER:
        return patrons.filter(card_number=normalize_card_number(value)).first()
    if match == USER_NUMBER:
        return patrons.filter(user_number__iexact=value).first()
    raise ValueError(f"unknown match {match!r}")


def _external_id_of(value: str, match: str, local: Patron | None, target) -> str | None:
    if match == EXTERNAL_ID:
        return value
    if local is not None and local.external_id:
        return local.external_id
    finder = getattr(target, "find_patron", None)
    return finder(normalize_card_number(value)) if finder else None


def _fallback(local: Patron | None, value: str, error: Exception) -> Patron:
    logger.warning("The library system could not say who %r is at sign-in: %s", value, error)
    if local is None:
        raise SignInUnavailable from None
    return local


def _patron_linked(external_id: str, record: PatronRecord) -> Patron:
    known = Patron.objects.filter(source_system="", external_id=external_id).first()
    if known is not None:
        return known
    card = normalize_card_number(record.card_number)
    unlinked = Patron.objects.filter(external_id="").filter(user_number=external_id).first()
    if unlinked is None and card:
        holder = Patron.objects.filter(card_number=card).first()
        if holder is not None and holder.external_id:
            raise CardOfAnotherPatron(
                f"card {card} is held by patron {holder.pk}, whom the library system knows "
                f"as {holder.external_id!r}, not {external_id!r}"
            )
        unlinked = holder
    if unlinked is not None:
        patron_update(
            patron=unlinked,
            card_number=card or unlinked.card_number,
            last_name=record.last_name or unlinked.last_name,
            first_name=record.first_name or unlinked.first_name,
            email=record.email or unlinked.email,
            external_id=external_id,
        )
        return unlinked
    if not card:
        raise MalformedAnswer(f"the library system names no card for patron {external_id!r}")
    try:
        with transaction.atomic():
            return patron_create(
                user_number=user_number_for(external_id, card),
                card_number=card,
                last_name=record.last_name or card,
                first_name=record.first_name,
                email=record.email,
                external_id=external_id,
            )
    except IntegrityError as error:
        # Signed in twice at once: the other sign-in created them.
        raced = Patron.objects.filter(source_system="", external_id=external_id).first()
        if raced is None:
            raise MalformedAnswer(f"patron {external_id!r} cannot be created: {error}") from error
        return raced


def user_number_for(external_id: str, card_number: str) -> str:
    """The portal's user number for a patron the library system names: its id there when
    that can be one (a FOLIO UUID without its dashes), else the card number."""
    for candidate in (external_id, external_id.replace("-", ""), card_number):
        if (
            is_user_number(candidate)
            and not Patron.objects.filter(user_number__iexact=candidate).exists()
        ):
            return candidate
    raise MalformedAnswer(f"no user number can be made for patron {external_id!r}")
