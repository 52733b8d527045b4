"""The JSON API for other systems, /api/v1/. Its OpenAPI document is generated from
these schemas (django-ninja): /api/v1/openapi.json."""

import datetime
from typing import Annotated

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.encoding import escape_uri_path
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import AfterValidator, StrictInt

from fees.models import FeeType
from payments import external
from payments.api_keys import api_client_for_key
from payments.models import ApiClient, ApiRequest, ApiScope


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
        "other content a 409."
    ),
    auth=ApiKey(),
    urls_namespace="api",
    docs_url=None,
)


def _require(request, scope: str) -> ApiClient:
    client = request.auth
    if scope not in client.scopes:
        raise MissingScope(scope)
    return client


# --- Errors: {"error": {"code", "message", "fields"}} ----------------------------------


class FieldError(Schema):
    field: str
    message: str


class ErrorDetail(Schema):
    code: str
    message: str
    fields: list[FieldError] = []


class ErrorOut(Schema):
    error: ErrorDetail


def _error(request, status, code, message, fields=()):
    body = {"error": {"code": code, "message": message, "fields": list(fields)}}
    return api.create_response(request, body, status=status)


@api.exception_handler(RequestValidationError)
def _invalid_request(request, exc):
    def field(loc):
        # ("body", "payload", "payment", "amount_cents") -> "payment.amount_cents"
        parts = loc[2:] if loc and loc[0] == "body" else loc[1:]
        return ".".join(str(part) for part in parts) or "body"

    fields = [{"field": field(error["loc"]), "message": error["msg"]} for error in exc.errors]
    return _error(request, 422, "invalid", "The request is not valid.", fields)


@api.exception_handler(DjangoValidationError)
def _refused(request, exc):
    if hasattr(exc, "error_dict"):
        fields = [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        return _error(request, 422, "invalid", fields[0]["message"], fields)
    return _error(request, 422, exc.code or "invalid", exc.messages[0])


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return _error(request, exc.status_code, "bad_request", str(exc))


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return _error(request, 401, "unauthorized", "A valid API key is needed.")


@api.exception_handler(MissingScope)
def _forbidden(request, exc):
    return _error(request, 403, "missing_scope", f"This key lacks the scope {exc}.")


@api.exception_handler(Throttled)
def _throttled(request, exc):
    return _error(request, 429, "throttled", "Too many requests; try again in a minute.")


@api.exception_handler(external.NotFound)
def _not_found(request, exc):
    return _error(request, 404, "not_found", str(exc))


@api.exception_handler(external.Conflict)
def _conflict(request, exc):
    return _error(request, 409, "conflict", str(exc))


ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 422, 429)}

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
UserNumber = Field(min_length=1, max_length=32, pattern=r"^[\x21-\x7e]+$")


class PatronIn(Schema):
    user_number: SafeText = UserNumber
    card_number: SafeText = Field(min_length=1, max_length=32, pattern=r"^[\x21-\x7e]+$")
    last_name: SafeText = Field(min_length=1, max_length=150)
    first_name: SafeText = Field("", max_length=150)
    email: SafeText = Field("", max_length=254)


class PatronOut(Schema):
    user_number: str
    card_number: str
    first_name: str
    last_name: str
    email: str


class PaymentWithFee(Schema):
    transaction_id: SafeText = CallerId
    amount_cents: MoneyInt = Cents
    method: SafeText = Field("", max_length=64)


class FeeIn(Schema):
    fee_id: SafeText = CallerId
    user_number: SafeText = UserNumber
    fee_type: FeeType = FeeType.OTHER
    amount_cents: MoneyInt = Cents
    currency: SafeText = Currency
    description: SafeText = Field(min_length=1, max_length=255)
    item: SafeText = Field("", max_length=255)
    payment: PaymentWithFee | None = Field(
        None, description="The fee was paid already: its payment, booked in the same call."
    )


class FeeOut(Schema):
    fee_id: str
    entry_id: int
    user_number: str
    amount_cents: int
    currency: str
    payment_entry_id: int | None


class LoanIn(Schema):
    item: SafeText = Field(min_length=1, max_length=255)
    barcode: SafeText = Field("", max_length=64)
    due_date: datetime.date
    daily_fine_cents: MoneyInt = Field(ge=0, le=100_000)
    fine_cap_cents: MoneyInt = Field(ge=0, le=10_000_000)
    currency: SafeText = Currency


class LoansIn(Schema):
    loans: list[LoanIn] = Field(max_length=1000)


class PaymentIn(Schema):
    transaction_id: SafeText = CallerId
    order_reference: SafeText | None = Field(None, max_length=32)
    user_number: SafeText | None = Field(None, max_length=32)
    amount_cents: MoneyInt = Cents
    currency: SafeText = Currency
    method: SafeText = Field("", max_length=64)


class PaymentOut(Schema):
    transaction_id: str
    outcome: str = Field(
        description="booked, recorded_not_booked, already_paid, duplicate or not_booked"
    )
    message: str
    payment_entry_id: int | None
    order_reference: str | None
    order_status: str | None


class OpenFee(Schema):
    entry_id: int
    kind: str
    fee_type: str
    description: str
    item: str
    booked_at: datetime.datetime
    amount_cents: int
    open_cents: int
    in_open_order: bool


class AccruingFine(Schema):
    item: str
    due_date: datetime.date
    fine_cents: int


class OpenOrder(Schema):
    reference: str
    status: str
    amount_cents: int
    created_at: datetime.datetime


class AccountOut(Schema):
    user_number: str
    name: str
    currency: str
    balance_cents: int
    credit_cents: int
    payable_cents: int
    open_fees: list[OpenFee]
    accruing_fines: list[AccruingFine]
    open_orders: list[OpenOrder]


# --- Operations --------------------------------------------------------------------------


def _answer(answer: external.Answer) -> Status:
    return Status(answer.status, answer.body)


@api.post("/patrons", response={200: PatronOut, 201: PatronOut, **ERRORS}, tags=["library system"])
def create_patron(request, payload: PatronIn):
    """Create a patron. Idempotent by `user_number`. Scope `fees:write`."""
    client = _require(request, ApiScope.FEES_WRITE)
    return _answer(external.external_patron_create(client=client, data=payload.model_dump()))


@api.post("/fees", response={200: FeeOut, 201: FeeOut, **ERRORS}, tags=["library system"])
def create_fee(request, payload: FeeIn):
    """Book a fee for a patron, with its payment if it was paid already. Idempotent by
    `fee_id`. Scope `fees:write`."""
    client = _require(request, ApiScope.FEES_WRITE)
    return _answer(external.external_fee_create(client=client, data=payload.model_dump()))


@api.put(
    "/patrons/{user_number}/overdue-loans",
    response={200: AccountOut, **ERRORS},
    tags=["library system"],
)
def replace_overdue_loans(request, user_number: SafeText, payload: LoansIn):
    """Replace the patron's overdue loans (the source of accruing fines). Scope `fees:write`."""
    _require(request, ApiScope.FEES_WRITE)
    loans = [loan.model_dump() for loan in payload.loans]
    return _answer(external.external_loans_replace(user_number=user_number, loans=loans))


@api.post("/payments", response={200: PaymentOut, 201: PaymentOut, **ERRORS}, tags=["payments"])
def report_payment(request, payload: PaymentIn):
    """Report a payment taken by another system: for a payment order (`order_reference`)
    or for a patron (`user_number`). Idempotent by `transaction_id`. Scope `payments:write`."""
    client = _require(request, ApiScope.PAYMENTS_WRITE)
    if bool(payload.order_reference) == bool(payload.user_number):
        raise DjangoValidationError(
            {"order_reference": "Give either order_reference or user_number."}
        )
    return _answer(external.external_payment_report(client=client, data=payload.model_dump()))


@api.get("/patrons/{user_number}/account", response={200: AccountOut, **ERRORS}, tags=["kiosks"])
def account_summary(request, user_number: SafeText):
    """Balance, open fees, accruing fines and open payment orders. Scope `accounts:read`."""
    _require(request, ApiScope.ACCOUNTS_READ)
    return Status(200, external.external_account_summary(user_number=user_number))


class ApiRequestLogMiddleware:
    """Writes one ApiRequest row per API call, with its client and answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
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
