"""Patrons, as the library system creates them and keeps them up to date.

A client's patrons are created in its library system (ApiClient.library_system)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from ninja import Field, Schema

from accounts.models import Patron
from accounts.services import patron_create, patron_update
from payments.api.core import (
    ERRORS,
    Answer,
    Conflict,
    SafeText,
    UserNumber,
    answer_status,
    api,
    idempotent,
    require_scope,
)
from payments.models import ApiClient, ApiScope


# What the library system tells about a patron, in either body. (No docstrings on the
# bodies: pydantic would put them into the document as descriptions.)
class PatronFields(Schema):
    card_number: SafeText = Field(min_length=1, max_length=32, pattern=r"^[\x21-\x7e]+$")
    last_name: SafeText = Field(min_length=1, max_length=150)
    first_name: SafeText = Field("", max_length=150)
    email: SafeText = Field("", max_length=254)
    external_id: SafeText = Field(
        "", max_length=64, description="The patron's id in the library system's own API."
    )


class PatronNumberField(Schema):
    user_number: UserNumber


# The create's body names the patron; PatronNumberField last among the bases, so that
# pydantic puts user_number first, where it always was: in the document and in the order
# of the errors.
class PatronIn(PatronFields, PatronNumberField):
    pass


# The upsert's body: the user number is in the path.
class PatronUpsertIn(PatronFields):
    pass


class PatronOut(Schema):
    user_number: str
    card_number: str
    first_name: str
    last_name: str
    email: str
    external_id: str


def patron_body(patron: Patron) -> dict:
    return {
        "user_number": patron.user_number,
        "card_number": patron.card_number,
        "first_name": patron.first_name,
        "last_name": patron.last_name,
        "email": patron.email,
        "external_id": patron.external_id,
    }


def patron_from_request(*, client: ApiClient, user_number: str, data: dict) -> Patron:
    """A new patron from an API request's fields, in the client's library system."""
    return patron_create(
        user_number=user_number,
        card_number=data["card_number"],
        last_name=data["last_name"],
        first_name=data.get("first_name", ""),
        email=data.get("email", ""),
        source_system=client.library_system,
        external_id=data.get("external_id", ""),
    )


def patron_create_once(*, client: ApiClient, data: dict) -> Answer:
    def perform():
        patron = patron_from_request(client=client, user_number=data["user_number"], data=data)
        return Answer(201, patron_body(patron))

    return idempotent(
        client=client, operation="patron", key=data["user_number"], request=data, perform=perform
    )


def patron_upsert(*, client: ApiClient, user_number: str, data: dict) -> Answer:
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


@api.post(
    "/patrons",
    response={200: PatronOut, 201: PatronOut, **ERRORS},
    tags=["library system"],
    # Pinned, as every operation id: see payments.api.core.
    operation_id="payments_api_endpoints_create_patron",
)
def create_patron(request, payload: PatronIn):
    """Create a patron. Idempotent by `user_number`. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(patron_create_once(client=client, data=payload.model_dump()))


@api.put(
    "/patrons/{user_number}",
    response={200: PatronOut, 201: PatronOut, **ERRORS},
    tags=["library system"],
    operation_id="payments_api_library_upsert_patron",
)
def upsert_patron(request, user_number: UserNumber, payload: PatronUpsertIn):
    """Create the patron or take its current data (a replaced card: the new number logs in,
    the old one no longer does). Sending the same data again changes nothing. Scope
    `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(
        patron_upsert(client=client, user_number=user_number, data=payload.model_dump())
    )
