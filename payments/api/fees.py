"""Fees and overdue loans as the library system sends them: a fee posted (with its payment
if it was paid there already), corrected, cancelled, or re-sent as the patron's whole set.

A client's fee ids live in its library system's namespace (ApiClient.library_system)."""

import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from ninja import Field, Schema

from fees import corrections
from fees import loans as fees_loans
from fees import services as ledger
from fees.models import EntryKind, FeeType, JournalEntry
from payments.api.accounts import AccountOut, account_summary_body
from payments.api.core import (
    ERRORS,
    Answer,
    CallerId,
    Cents,
    Conflict,
    Currency,
    FeeTypeCode,
    MoneyInt,
    NotFound,
    OwnerCode,
    SafeText,
    UserNumber,
    answer_status,
    api,
    check_currency,
    idempotent,
    patron_by_number,
    require_scope,
)
from payments.api.payments import refuse_other_payment
from payments.models import ApiClient, ApiScope
from payments.services import money_receive_for_patron


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
    owner: OwnerCode = ""
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


class FeeCorrectionIn(Schema):
    amount_cents: MoneyInt = Field(
        ge=0, le=100_000_000, description="What the library system now charges; 0 cancels."
    )
    reason: SafeText = Field(min_length=1, max_length=255)


class FeeCancelIn(Schema):
    reason: SafeText = Field(min_length=1, max_length=255)


class CorrectionOut(Schema):
    fee_id: str
    entry_id: int
    charged_before_cents: int
    charged_cents: int
    booked_entry_id: int | None = Field(
        description="The correcting entry (an increase, or a reduction); none if nothing moved."
    )
    already_paid_cents: int = Field(
        description="Money received for the fee beyond its new amount: it stays paid and is "
        "the patron's credit; refund it through the library if need be."
    )
    in_open_order: bool = Field(
        description="The patron is paying the fee online right now: what that payment pays "
        "beyond the new amount becomes the patron's credit."
    )


class SyncFeeIn(Schema):
    fee_id: SafeText = CallerId
    amount_cents: MoneyInt = Cents
    currency: SafeText = Currency
    description: SafeText = Field(min_length=1, max_length=255)
    fee_type: FeeTypeCode = FeeType.OTHER.value
    external_type: SafeText = Field("", max_length=64)
    item: SafeText = Field("", max_length=255)
    owner: OwnerCode = ""


class SyncIn(Schema):
    fees: list[SyncFeeIn] = Field(max_length=1000)


class SyncOut(Schema):
    user_number: str
    booked: list[str]
    corrected: list[CorrectionOut]
    cancelled: list[CorrectionOut]
    unchanged: list[str]


# --- Operations ---------------------------------------------------------------------------


def fee_post(*, client: ApiClient, data: dict) -> Answer:
    """A fee, and when the caller says it was paid already, its payment in the same call."""

    def perform():
        check_currency(data["currency"])
        patron = patron_by_number(data["user_number"])
        try:
            with transaction.atomic():
                fee = ledger.fee_book(
                    patron=patron,
                    amount_cents=data["amount_cents"],
                    fee_type=data["fee_type"],
                    description=data["description"],
                    item=data.get("item", ""),
                    note=_("Posted by %(client)s as %(id)s")
                    % {"client": client.name, "id": data["fee_id"]},
                    source_system=client.library_system,
                    external_id=data["fee_id"],
                    external_type=data.get("external_type", ""),
                    owner=data.get("owner", ""),
                )
        except IntegrityError:
            raise Conflict(_("Fee %(id)s is known already.") % {"id": data["fee_id"]}) from None
        body = {"fee_id": data["fee_id"], "entry_id": fee.pk, "user_number": patron.user_number,
                "amount_cents": fee.amount_cents, "currency": fee.currency,
                "payment_entry_id": None}  # fmt: skip
        if payment := data.get("payment"):
            result = money_receive_for_patron(
                patron=patron,
                amount_cents=payment["amount_cents"],
                currency=fee.currency,
                api_client=client,
                external_id=payment["transaction_id"],
                method=payment.get("method", ""),
                for_fees=[fee],
                note=_("Reported by %(client)s") % {"client": client.name},
                tell_library_system=False,  # it reported the payment itself
            )
            refuse_other_payment(result, patron=patron, amount_cents=payment["amount_cents"])
            body["payment_entry_id"] = result.money.entry_id
        return Answer(201, body)

    return idempotent(
        client=client, operation="fee", key=data["fee_id"], request=data, perform=perform
    )


def loans_replace(*, user_number: str, loans: list[dict]) -> Answer:
    """PUT semantics: the set sent is the set kept; sending it twice changes nothing."""
    patron = patron_by_number(user_number)
    for index, loan in enumerate(loans):
        check_currency(loan["currency"], field=f"loans.{index}.currency")
    fees_loans.loans_replace(patron=patron, loans=loans)
    return Answer(200, account_summary_body(user_number=user_number))


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


def fee_correct(*, client: ApiClient, fee_id: str, amount_cents: int, reason: str) -> Answer:
    """Set a fee's amount as the library system now charges it (0: cancelled)."""
    correction = corrections.fee_correct(
        fee=_fee(client, fee_id), amount_cents=amount_cents, note=reason
    )
    return Answer(200, _correction_body(fee_id, correction))


def fees_sync(*, client: ApiClient, user_number: str, fees: list[dict]) -> Answer:
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


# --- Endpoints (operation ids pinned, as every one: see payments.api.core) -------------


@api.post(
    "/fees",
    response={200: FeeOut, 201: FeeOut, **ERRORS},
    tags=["library system"],
    operation_id="payments_api_endpoints_create_fee",
)
def create_fee(request, payload: FeeIn):
    """Book a fee for a patron, with its payment if it was paid already. Idempotent by
    `fee_id`. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(fee_post(client=client, data=payload.model_dump()))


@api.put(
    "/patrons/{user_number}/overdue-loans",
    response={200: AccountOut, **ERRORS},
    tags=["library system"],
    operation_id="payments_api_endpoints_replace_overdue_loans",
)
def replace_overdue_loans(request, user_number: UserNumber, payload: LoansIn):
    """Replace the patron's overdue loans (the source of accruing fines). Scope `fees:write`."""
    require_scope(request, ApiScope.FEES_WRITE)
    loans = [loan.model_dump() for loan in payload.loans]
    return answer_status(loans_replace(user_number=user_number, loans=loans))


@api.patch(
    "/fees/{fee_id}",
    response={200: CorrectionOut, **ERRORS},
    tags=["library system"],
    operation_id="payments_api_library_correct_fee",
)
def correct_fee(request, fee_id: SafeText, payload: FeeCorrectionIn):
    """Correct a fee the library system sent: booked as a new entry (an increase, or a
    reduction of what is not paid yet), never an edit. Setting the amount it already has
    changes nothing. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(
        fee_correct(
            client=client, fee_id=fee_id, amount_cents=payload.amount_cents, reason=payload.reason
        )
    )


@api.post(
    "/fees/{fee_id}/cancel",
    response={200: CorrectionOut, **ERRORS},
    tags=["library system"],
    operation_id="payments_api_library_cancel_fee",
)
def cancel_fee(request, fee_id: SafeText, payload: FeeCancelIn):
    """Cancel a fee (lost item found, charged in error): it charges nothing from now on;
    money already received for it stays paid and becomes the patron's credit
    (`already_paid_cents`). Cancelling again changes nothing. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(
        fee_correct(client=client, fee_id=fee_id, amount_cents=0, reason=payload.reason)
    )


@api.put(
    "/patrons/{user_number}/fees",
    response={200: SyncOut, **ERRORS},
    tags=["library system"],
    operation_id="payments_api_library_sync_fees",
)
def sync_fees(request, user_number: UserNumber, payload: SyncIn):
    """The patron's whole set of open fees in the library system, as the truth, in one
    transaction: new fees are booked, changed amounts corrected, and fees of this system
    missing from the set written off as far as they are unpaid (they were closed in the
    library system: what was paid of them stays paid). A fee id this portal holds for
    another patron refuses the whole set (409). Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    fees = [fee.model_dump() for fee in payload.fees]
    return answer_status(fees_sync(client=client, user_number=user_number, fees=fees))
