"""A patron's account summary, for kiosks (and the answer to a replaced set of overdue
loans)."""

import datetime

from django.conf import settings
from django.utils import timezone
from ninja import Schema
from ninja.responses import Status

from payments.api.core import ERRORS, UserNumber, api, patron_by_number, require_scope
from payments.models import ApiScope
from payments.selectors import account_overview, reserved_fee_ids


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


def account_summary_body(*, user_number: str) -> dict:
    patron = patron_by_number(user_number)
    overview = account_overview(patron=patron, on_date=timezone.localdate())
    reserved = reserved_fee_ids(patron_ids=[patron.pk])
    return {
        "user_number": patron.user_number,
        "name": patron.full_name,
        "currency": settings.LIBRARY_CURRENCY,
        "balance_cents": overview.balance_cents,
        "credit_cents": overview.credit_cents,
        "payable_cents": overview.payable_cents,
        "open_fees": [
            {
                "entry_id": fee.pk,
                "kind": fee.kind,
                "fee_type": fee.fee_type,
                "description": fee.description,
                "item": fee.item,
                "booked_at": fee.booked_at,
                "amount_cents": fee.amount_cents,
                "open_cents": fee.open_cents,
                "in_open_order": fee.pk in reserved,
            }
            for fee in overview.open_fees
        ],
        "accruing_fines": [
            {"item": fine.loan.item, "due_date": fine.loan.due_date, "fine_cents": fine.fine_cents}
            for fine in overview.accruing_fines
        ],
        "open_orders": [
            {
                "reference": order.reference,
                "status": order.status,
                "amount_cents": order.amount_cents,
                "created_at": order.created_at,
            }
            for order in overview.open_orders
        ],
    }


@api.get(
    "/patrons/{user_number}/account",
    response={200: AccountOut, **ERRORS},
    tags=["kiosks"],
    # Pinned, as every operation id: see payments.api.core.
    operation_id="payments_api_endpoints_account_summary",
)
def account_summary(request, user_number: UserNumber):
    """Balance, open fees, accruing fines and open payment orders. Scope `accounts:read`."""
    require_scope(request, ApiScope.ACCOUNTS_READ)
    return Status(200, account_summary_body(user_number=user_number))
