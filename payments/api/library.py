"""For the library system: keep patrons up to date, correct, cancel and re-send fees, and
read the feed of money movements."""

import datetime

from ninja import Field, Query, Schema
from ninja.responses import Status

from fees.models import FeeType
from payments import external_library
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
from payments.api.endpoints import PatronOut
from payments.models import ApiScope


class PatronUpsertIn(Schema):
    card_number: SafeText = Field(min_length=1, max_length=32, pattern=r"^[\x21-\x7e]+$")
    last_name: SafeText = Field(min_length=1, max_length=150)
    first_name: SafeText = Field("", max_length=150)
    email: SafeText = Field("", max_length=254)
    external_id: SafeText = Field(
        "", max_length=64, description="The patron's id in the library system's own API."
    )


@api.put(
    "/patrons/{user_number}",
    response={200: PatronOut, 201: PatronOut, **ERRORS},
    tags=["library system"],
)
def upsert_patron(request, user_number: UserNumber, payload: PatronUpsertIn):
    """Create the patron or take its current data (a replaced card: the new number logs in,
    the old one no longer does). Sending the same data again changes nothing. Scope
    `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(
        external_library.external_patron_upsert(
            client=client, user_number=user_number, data=payload.model_dump()
        )
    )


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


@api.patch("/fees/{fee_id}", response={200: CorrectionOut, **ERRORS}, tags=["library system"])
def correct_fee(request, fee_id: SafeText, payload: FeeCorrectionIn):
    """Correct a fee the library system sent: booked as a new entry (an increase, or a
    reduction of what is not paid yet), never an edit. Setting the amount it already has
    changes nothing. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(
        external_library.external_fee_correct(
            client=client,
            fee_id=fee_id,
            amount_cents=payload.amount_cents,
            reason=payload.reason,
        )
    )


@api.post("/fees/{fee_id}/cancel", response={200: CorrectionOut, **ERRORS}, tags=["library system"])
def cancel_fee(request, fee_id: SafeText, payload: FeeCancelIn):
    """Cancel a fee (written off, lost item found): what is not paid yet is reduced to zero;
    money already received stays paid. Cancelling again changes nothing. Scope
    `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    return answer_status(
        external_library.external_fee_correct(
            client=client, fee_id=fee_id, amount_cents=0, reason=payload.reason
        )
    )


class SyncFeeIn(Schema):
    fee_id: SafeText = CallerId
    amount_cents: MoneyInt = Cents
    currency: SafeText = Currency
    description: SafeText = Field(min_length=1, max_length=255)
    fee_type: FeeTypeCode = FeeType.OTHER.value
    external_type: SafeText = Field("", max_length=64)
    item: SafeText = Field("", max_length=255)


class SyncIn(Schema):
    fees: list[SyncFeeIn] = Field(max_length=1000)


class SyncOut(Schema):
    user_number: str
    booked: list[str]
    corrected: list[CorrectionOut]
    cancelled: list[CorrectionOut]
    unchanged: list[str]


@api.put("/patrons/{user_number}/fees", response={200: SyncOut, **ERRORS}, tags=["library system"])
def sync_fees(request, user_number: UserNumber, payload: SyncIn):
    """The patron's whole set of open fees in the library system, as the truth, in one
    transaction: new fees are booked, changed amounts corrected, and fees of this system
    missing from the set cancelled as far as they are unpaid. Scope `fees:write`."""
    client = require_scope(request, ApiScope.FEES_WRITE)
    fees = [fee.model_dump() for fee in payload.fees]
    return answer_status(
        external_library.external_fees_sync(client=client, user_number=user_number, fees=fees)
    )


class ShareOut(Schema):
    entry_id: int
    fee_id: str = Field(description="The library system's fee id; empty for other fees.")
    fee_type: str
    amount_cents: int


class MovementOut(Schema):
    key: str = Field(description="The same key the delivery to the library system carries.")
    kind: str = Field(description="payment, reversal or refund")
    entry_id: int
    booked_at: datetime.datetime
    amount_cents: int
    currency: str
    method: str
    reference: str
    patron_user_number: str
    patron_external_id: str
    shares: list[ShareOut]
    unassigned_cents: int
    reverses_entry_id: int | None


class MovementsOut(Schema):
    movements: list[MovementOut]
    next_cursor: str = Field(description="Pass it as `cursor` to read on; kept when empty.")


class FeedQuery(Schema):
    # Any text: one the feed did not give out is a 400 (BadCursor), whatever it holds.
    cursor: str = Field(
        "", description='A `next_cursor` the feed gave out; "" or none from the start.'
    )
    limit: int = Field(100, ge=1, le=500)


@api.get("/movements", response={200: MovementsOut, **ERRORS}, tags=["library system"])
def movements(request, query: Query[FeedQuery]):
    """Payments, reversals and refunds, oldest first, with what each paid per fee: the
    movements delivered to the library system, and only those (not a payment it reported
    itself, as with `POST /fees`). Poll with the `next_cursor` of the last page: no movement
    is missed, even one whose booking committed late; a cursor the feed did not give out
    is a 400. Scope `movements:read`."""
    require_scope(request, ApiScope.MOVEMENTS_READ)
    return Status(200, external_library.external_movements(cursor=query.cursor, limit=query.limit))
