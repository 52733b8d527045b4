"""Payments taken by other systems (Aleph's put-pat-cash idea): for one of our payment
orders, or for a patron directly.

The caller's transaction id names one payment across every endpoint that carries one (also
a fee's payment, payments.api.fees)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from ninja import Field, Schema

from payments.api.core import (
    ERRORS,
    Answer,
    CallerId,
    Cents,
    Conflict,
    Currency,
    MoneyInt,
    NotFound,
    SafeText,
    UserNumber,
    answer_status,
    api,
    check_currency,
    idempotent,
    patron_by_number,
    require_scope,
)
from payments.models import (
    ApiClient,
    ApiScope,
    EventSource,
    MoneyReport,
    OrderStatus,
    PaymentOrder,
)
from payments.reference import normalize_reference
from payments.services import (
    Outcome,
    TransitionResult,
    money_receive_for_patron,
    payment_order_transition,
)


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


OUTCOMES = {
    "booked": "The payment was booked.",
    "recorded_not_booked": "The order had been cancelled by the library: the payment is "
    "recorded and flagged for staff to book by hand.",
    "already_paid": "The order was paid already: this payment is recorded and flagged for "
    "staff, nothing was booked.",
    "duplicate": "This transaction id was reported before, through this or another "
    "endpoint: it is the same payment, and nothing more was booked.",
    "not_booked": "The order's state does not allow a payment; nothing was booked.",
}


def _outcome(result: TransitionResult) -> str:
    if result.outcome == Outcome.BOOKED:
        return "booked"
    if result.outcome == Outcome.REPEAT:
        return "duplicate"
    if result.outcome == Outcome.RECORDED:
        if result.money.hold == MoneyReport.Hold.AFTER_CANCELLATION:
            return "recorded_not_booked"
        return "already_paid"
    return "not_booked"


def refuse_other_payment(result: TransitionResult, *, patron, amount_cents: int) -> None:
    """A transaction id used before is the same payment only if it says the same."""
    earlier = result.money
    if result.outcome == Outcome.REPEAT and (
        earlier.patron_id != patron.pk or earlier.amount_cents != amount_cents
    ):
        raise Conflict(
            _("Transaction id %(id)s was used before for another payment.")
            % {"id": earlier.external_id}
        )


def payment_report(*, client: ApiClient, data: dict) -> Answer:
    """A payment taken by another system: for one of our orders, or for a patron directly."""

    def perform():
        check_currency(data["currency"])
        if data.get("order_reference"):
            order = _order(data["order_reference"])
            patron = order.patron
            result = payment_order_transition(
                order=order,
                status=OrderStatus.PAID,
                source=EventSource.API,
                amount_cents=data["amount_cents"],
                currency=data["currency"],
                payment_method=data.get("method") or "",
                api_client=client,
                external_id=data["transaction_id"],
                note=_("Reported by %(client)s") % {"client": client.name},
            )
        else:
            patron = patron_by_number(data["user_number"])
            result = money_receive_for_patron(
                patron=patron,
                amount_cents=data["amount_cents"],
                currency=data["currency"],
                api_client=client,
                external_id=data["transaction_id"],
                method=data.get("method", ""),
                note=_("Reported by %(client)s") % {"client": client.name},
            )
        refuse_other_payment(result, patron=patron, amount_cents=data["amount_cents"])
        outcome = _outcome(result)
        order = result.money.order if result.money else result.order
        return Answer(
            201 if outcome == "booked" else 200,
            {
                "transaction_id": data["transaction_id"],
                "outcome": outcome,
                "message": OUTCOMES[outcome],
                "payment_entry_id": result.money.entry_id if result.money else None,
                "order_reference": order.reference if order else None,
                "order_status": order.status if order else None,
            },
        )

    return idempotent(
        client=client,
        operation="payment",
        key=data["transaction_id"],
        request=data,
        perform=perform,
    )


def _order(reference: str) -> PaymentOrder:
    reference = normalize_reference(reference)
    order = PaymentOrder.objects.filter(reference=reference).first()
    if order is None:
        raise NotFound(_("No payment order %(reference)s.") % {"reference": reference})
    return order


@api.post(
    "/payments",
    response={200: PaymentOut, 201: PaymentOut, **ERRORS},
    tags=["payments"],
    # Pinned, as every operation id: see payments.api.core.
    operation_id="payments_api_endpoints_report_payment",
)
def report_payment(request, payload: PaymentIn):
    """Report a payment taken by another system: for a payment order (`order_reference`)
    or for a patron (`user_number`). Idempotent by `transaction_id`. Scope `payments:write`."""
    client = require_scope(request, ApiScope.PAYMENTS_WRITE)
    if bool(payload.order_reference) == bool(payload.user_number):
        raise DjangoValidationError(
            {"order_reference": "Give either order_reference or user_number."}
        )
    return answer_status(payment_report(client=client, data=payload.model_dump()))
