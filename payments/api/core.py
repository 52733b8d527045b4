"""The API's frame: keys and scopes, the errors every endpoint may answer (in the format
of payments.api.errors), the types every endpoint shares, idempotent writes, the patron
lookup, and the request log."""

import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import escape_uri_path
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import AfterValidator, StrictInt

from accounts.models import USER_NUMBER_MAX_LENGTH, USER_NUMBER_PATTERN, Patron
from fees import services as ledger
from fees.models import FeeKind, Owner
from payments.api import errors
from payments.api_keys import api_client_for_key
from payments.library_systems.feed import BadCursor
from payments.models import ApiClient, ApiIdempotencyRecord, ApiRequest


class MissingScope(Exception):
    pass


class NotFound(Exception):
    """The patron, fee or order named does not exist."""


class Conflict(Exception):
    """The caller's id was used before with other content."""


class Throttled(Exception):
    pass


class ApiKey(HttpBearer):
    """`Authorization: Bearer <key>`; a revoked or unknown key is a 401."""

    def authenticate(self, request, token):
        if "\x00" in token:
            return None
        client = api_client_for_key(token)
        if client is None:
            return None
        request.api_client = client
        window = timezone.now() - datetime.timedelta(minutes=1)
        if client.requests.filter(at__gte=window).count() >= settings.API_REQUESTS_PER_MINUTE:
            raise Throttled
        return client


api = NinjaAPI(
    title=f"{settings.LIBRARY_NAME} ePayment API",
    version="1",
    description=(
        "For the library system (patrons, fees, overdue loans), external payment "
        "systems (payments) and kiosks (account summaries). Amounts are integer minor "
        "units (cents) in the library's currency. Writes are idempotent by the caller's "
        "own id: a repeat with the same content gets the first answer again, with "
        "other content a 409. Every error, on any path under /api/, is JSON: "
        '{"error": {"code", "message", "fields"}}; a body larger than the portal takes '
        "is a 413, a method a path does not have a 405."
    ),
    auth=ApiKey(),
    urls_namespace="api",
    docs_url=None,
)


def require_scope(request, scope: str) -> ApiClient:
    client = request.auth
    if scope not in client.scopes:
        raise MissingScope(scope)
    return client


# --- Errors: {"error": {"code", "message", "fields"}} (payments.api.errors) -------------


@api.exception_handler(RequestValidationError)
def _invalid_request(request, exc):
    def field(loc):
        # ("body", "payload", "payment", "amount_cents") -> "payment.amount_cents"
        parts = loc[2:] if loc and loc[0] == "body" else loc[1:]
        return ".".join(str(part) for part in parts) or "body"

    fields = [{"field": field(error["loc"]), "message": error["msg"]} for error in exc.errors]
    return errors.error_response(422, "invalid", "The request is not valid.", fields)


@api.exception_handler(DjangoValidationError)
def _refused(request, exc):
    if hasattr(exc, "error_dict"):
        fields = [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        return errors.error_response(422, "invalid", fields[0]["message"], fields)
    return errors.error_response(422, exc.code or "invalid", exc.messages[0])


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return errors.error_response(exc.status_code, "bad_request", str(exc))


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return errors.error_response(401, "unauthorized", "A valid API key is needed.")


@api.exception_handler(MissingScope)
def _forbidden(request, exc):
    return errors.error_response(403, "missing_scope", f"This key lacks the scope {exc}.")


@api.exception_handler(Throttled)
def _throttled(request, exc):
    return errors.error_response(429, "throttled", "Too many requests; try again in a minute.")


@api.exception_handler(NotFound)
def _not_found(request, exc):
    return errors.error_response(404, "not_found", str(exc))


@api.exception_handler(Conflict)
def _conflict(request, exc):
    return errors.error_response(409, "conflict", str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    return errors.too_large()


@api.exception_handler(BadCursor)
def _bad_cursor(request, exc):
    fields = [{"field": "cursor", "message": "Not a cursor this feed gave out."}]
    return errors.error_response(400, "bad_request", "The cursor is not valid.", fields)


# Each endpoint pins its operation id to the one the document has always given (named
# after the modules of the time): clients generate code from them.

ERRORS = {code: errors.ErrorOut for code in (400, 401, 403, 404, 409, 413, 422, 429)}

# --- Schemas ------------------------------------------------------------------------------


def _without_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refused here it is a 422, not a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Every text that comes in: in a body or in the path.
SafeText = Annotated[str, AfterValidator(_without_nul)]
# Money is a JSON integer: true, "500" or 100.0 are refused, not read as 1, 500 or 100.
MoneyInt = StrictInt

CallerId = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
Cents = Field(gt=0, le=100_000_000)
Currency = Field(pattern=r"^[A-Z]{3}$")
# Wherever a user number enters, in a body or in the path: the Patron model's pattern.
UserNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=USER_NUMBER_MAX_LENGTH,
        pattern=f"^(?:{USER_NUMBER_PATTERN})$",
        description="The patron's number in the library system: letters A-Z and a-z, "
        "digits and _ . @ + -, not dots alone.",
    ),
]


def _known_fee_type(code: str) -> str:
    # Checked here, not only when booking, so that the answer names the field.
    if not FeeKind.objects.filter(code=code).exists():
        raise ValueError("unknown fee type; the portal's fee types are set up by its staff")
    return code


# A fee type code as set up in the portal's admin (FeeKind).
FeeTypeCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=16,
        pattern=r"^[\x21-\x7e]+$",
        description="A fee type code set up in the portal (its admin: fee types).",
    ),
    AfterValidator(_known_fee_type),
]


def _known_owner(code: str) -> str:
    # Checked here, not only when booking, so that the answer names the field.
    if code and not Owner.objects.filter(code=code).exists():
        raise ValueError("unknown owner; the portal's fee owners are set up by its staff")
    return code


# A fee owner's code as set up in the portal's admin (Owner); empty: the default owner.
OwnerCode = Annotated[
    str,
    Field(
        default="",
        max_length=64,
        pattern=r"^[\x21-\x7e]*$",
        description="Whose fee it is, as the library system names the owner (Koha's "
        "library_id, FOLIO's owner id, Alma's owner), set up in the portal (its admin: fee "
        "owners). Empty: the default owner.",
    ),
    AfterValidator(_known_owner),
]


# --- Answers and idempotent writes -----------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


def answer_status(answer: Answer) -> Status:
    return Status(answer.status, answer.body)


def _fingerprint(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(
    *, client: ApiClient, operation: str, key: str, request: dict, perform: Callable[[], Answer]
) -> Answer:
    """`perform()` once per caller's id, in one transaction: a repeat with the same content
    gets the first answer again, a repeat with other content a Conflict."""
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        try:
            # Claimed first: a concurrent repeat waits here for this transaction to end.
            with transaction.atomic():
                record = ApiIdempotencyRecord.objects.create(
                    client=client, operation=operation, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = ApiIdempotencyRecord.objects.get(client=client, operation=operation, key=key)
            if record.fingerprint != fingerprint:
                raise Conflict(
                    _("%(key)s was sent before with different content.") % {"key": key}
                ) from None
            return Answer(record.status, record.response)
        answer = perform()
        record.status, record.response = answer.status, answer.body
        record.save(update_fields=["status", "response"])
        return answer


def patron_by_number(user_number: str) -> Patron:
    patron = Patron.objects.filter(user_number=user_number).first()
    if patron is None:
        raise NotFound(_("No patron with user number %(number)s.") % {"number": user_number})
    return patron


def check_currency(currency: str, field: str = "currency") -> None:
    """The ledger's currency rule (`fees.services.currency_check`), its refusal named by
    the request's field. A currency is always given here: none is no default."""
    try:
        ledger.currency_check(currency or "?")
    except DjangoValidationError as refused:
        raise DjangoValidationError({field: refused.messages[0]}) from None


class ApiRequestLogMiddleware:
    """Writes one ApiRequest row per API call, with its client and answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not errors.is_api_request(request):
            return self.get_response(request)
        started = timezone.now()
        response = self.get_response(request)
        ApiRequest.objects.create(
            client=getattr(request, "api_client", None),
            at=started,
            method=request.method[:8],
            # Percent-encoded as in the request line: a NUL in the path can't be stored.
            path=escape_uri_path(request.path)[:255],
            status=response.status_code,
            duration_ms=int((timezone.now() - started).total_seconds() * 1000),
        )
        return response
