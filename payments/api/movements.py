"""The feed of money movements, for the library system. The feed's query is
payments.selectors.money_movements; this module only serves it."""

import datetime

from ninja import Field, Query, Schema
from ninja.responses import Status

from payments.api.core import ERRORS, api, require_scope
from payments.library_systems.feed import money_movements
from payments.models import ApiScope


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
    owner_code: str = Field(
        "", description="Whose money it is: its owner's code; empty for the default owner's."
    )


class MovementsOut(Schema):
    movements: list[MovementOut]
    next_cursor: str = Field(description="Pass it as `cursor` to read on; kept when empty.")


class FeedQuery(Schema):
    # Any text: one the feed did not give out is a 400 (BadCursor), whatever it holds.
    cursor: str = Field(
        "", description='A `next_cursor` the feed gave out; "" or none from the start.'
    )
    limit: int = Field(100, ge=1, le=500)


@api.get(
    "/movements",
    response={200: MovementsOut, **ERRORS},
    tags=["library system"],
    # Pinned, as every operation id: see payments.api.core.
    operation_id="payments_api_library_movements",
)
def movements(request, query: Query[FeedQuery]):
    """Payments, reversals and refunds, oldest first, with what each paid per fee: the
    movements delivered to the library system, and only those (not a payment it reported
    itself, as with `POST /fees`). Poll with the `next_cursor` of the last page: no movement
    is missed, even one whose booking committed late; a cursor the feed did not give out
    is a 400. Scope `movements:read`."""
    require_scope(request, ApiScope.MOVEMENTS_READ)
    page = money_movements(cursor=query.cursor, limit=query.limit)
    return Status(200, {"movements": page.movements, "next_cursor": page.next_cursor})
