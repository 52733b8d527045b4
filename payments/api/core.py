"""The API's frame: keys and scopes, the error format, the types every endpoint shares,
and the request log."""

import datetime
from typing import Annotated

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.encoding import escape_uri_path
from ninja import Field, NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import AfterValidator, StrictInt

from accounts.models import USER_NUMBER_MAX_LENGTH, USER_NUMBER_PATTERN
from fees.models import FeeKind
from payments import external
from payments.api import errors
from payments.api_keys import api_client_for_key
from payments.library_systems.feed import BadCursor
from payments.models import ApiClient, ApiRequest


class MissingScope(Exception):
    pass


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


@api.exception_handler(external.NotFound)
def _not_found(request, exc):
    return errors.error_response(404, "not_found", str(exc))


@api.exception_handler(external.Conflict)
def _conflict(request, exc):
    return errors.error_response(409, "conflict", str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    return errors.too_large()


@api.exception_handler(BadCursor)
def _bad_cursor(request, exc):
    fields = [{"field": "cursor", "message": "Not a cursor this feed gave out."}]
    return errors.error_response(400, "bad_request", "The cursor is not valid.", fields)


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

Text = Field(max_length=255)
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


def answer_status(answer: external.Answer) -> Status:
    return Status(answer.status, answer.body)


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
