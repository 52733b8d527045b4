"""Patrons, fees, overdue loans, payments and account summaries."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Field, Schema
from ninja.responses import Status

from fees.models import FeeType
from payments import external
from payments.api.core import (
    ERRORS,
    CallerId,
    Cents,
    Currency,
    FeeTypeCode,
    MoneyInt,
    SafeText,
    UserNumber,
    answer_status,
    api,
    require_scope,
)
from payments.models import ApiScope


class PatronIn(Schema):
    user_number: UserNumber
    card_number: SafeText = Field(min_length=1, max_length=32, pattern=r"^[\x21-\x7e]+$")
    last_name: SafeText = Field(min_length=1, max_length=150)
    first_name: SafeText = Field("", max_length=150)
    email: SafeText = Field("", max_length=254)
    external_id: SafeText = Field(
        "", max_length=64, description="The patron's id in the library system's own API."
    )


class PatronOut(Schema):
    user_number: str
    card_number: str
    first_name: str
    last_name: str
    email: str
    external_id: str


class PaymentWithFee(Schema):
    transaction_id: SafeText = CallerId
    amount_cents: MoneyInt = Cents
    method: SafeText = Field("", max_length=64)


class FeeIn(Schema):
    fee_id: SafeText = CallerId
    user_number: UserNumber
    fee_type: FeeTypeCode = FeeType.OTHER.value
    amount_cents: MoneyInt = Cents
    currency: SafeText = Currency
    description: SafeText = Field(min_length=1, max_length=255)
    item: SafeText = Field("", max_length=255)
    external_type: SafeText = Field(
        "", max_length=64, description="The fee type code in the library system, kept as sent."
    )
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
    user_number: UserNumber | None = None
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


@api.post("/patrons", response={200: PatronOut, 201: PatronOut, **ERRORS}, tags=["library system"])
def create_patron(request, payload: PatronIn):
    """Create a patron. Idempotent by `user_number`. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(external.external_patron_create(client=client, data=payload.model_dump()))


@api.post("/fees", response={200: FeeOut, 201: FeeOut, **ERRORS}, tags=["library system"])
def create_fee(request, payload: FeeIn):
    """Book a fee for a patron, with its payment if it was paid already. Idempotent by
    `fee_id`. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(external.external_fee_create(client=client, data=payload.model_dump()))


@api.put(
    "/patrons/{user_number}/overdue-loans",
    response={200: AccountOut, **ERRORS},
    tags=["library system"],
)
def replace_overdue_loans(request, user_number: UserNumber, payload: LoansIn):
    """Replace the patron's overdue loans (the source of accruing fines). Scope `fees:write`."""
    require_scope(request, ApiScope.FEES_WRITE)
    loans = [loan.model_dump() for loan in payload.loans]
    return answer_status(external.external_loans_replace(user_number=user_number, loans=loans))


@api.post("/payments", response={200: PaymentOut, 201: PaymentOut, **ERRORS}, tags=["payments"])
def report_payment(request, payload: PaymentIn):
    """Report a payment taken by another system: for a payment order (`order_reference`)
    or for a patron (`user_number`). Idempotent by `transaction_id`. Scope `payments:write`."""
    client = require_scope(request, ApiScope.PAYMENTS_WRITE)
    if bool(payload.order_reference) == bool(payload.user_number):
        raise DjangoValidationError(
            {"order_reference": "Give either order_reference or user_number."}
        )
    return answer_status(external.external_payment_report(client=client, data=payload.model_dump()))


@api.get("/patrons/{user_number}/account", response={200: AccountOut, **ERRORS}, tags=["kiosks"])
def account_summary(request, user_number: UserNumber):
    """Balance, open fees, accruing fines and open payment orders. Scope `accounts:read`."""
    require_scope(request, ApiScope.ACCOUNTS_READ)
    return Status(200, external.external_account_summary(user_number=user_number))
