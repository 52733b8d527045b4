"""What other systems do through the API: the library system posts patrons, fees and
overdue loans; external payment systems report payments (Aleph's put-pat-cash idea).

Each write is one transaction, idempotent by the caller's own id: a repeat with the
same content gets the first answer again, a repeat with other content a conflict.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Patron
from accounts.services import patron_create
from fees import services as ledger
from payments.models import (
    ApiClient,
    ApiIdempotencyRecord,
    EventSource,
    MoneyReport,
    OrderStatus,
    PaymentOrder,
)
from payments.reference import normalize_reference
from payments.selectors import account_overview, reserved_fee_ids
from payments.services import (
    Outcome,
    TransitionResult,
    money_receive_for_patron,
    payment_order_transition,
)


class NotFound(Exception):
    """The patron or order named does not exist."""


class Conflict(Exception):
    """The caller's id was used before with other content."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


def _fingerprint(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _idempotent(
    *, client: ApiClient, operation: str, key: str, request: dict, perform: Callable[[], Answer]
) -> Answer:
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
    if currency != settings.LIBRARY_CURRENCY:
        message = _("Only %(currency)s is accepted.") % {"currency": settings.LIBRARY_CURRENCY}
        raise ValidationError({field: message})


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


def external_patron_create(*, client: ApiClient, data: dict) -> Answer:
    def perform():
        patron = patron_from_request(client=client, user_number=data["user_number"], data=data)
        return Answer(201, patron_body(patron))

    return _idempotent(
        client=client, operation="patron", key=data["user_number"], request=data, perform=perform
    )


def patron_body(patron: Patron) -> dict:
    return {
        "user_number": patron.user_number,
        "card_number": patron.card_number,
        "first_name": patron.first_name,
        "last_name": patron.last_name,
        "email": patron.email,
        "external_id": patron.external_id,
    }


def external_fee_create(*, client: ApiClient, data: dict) -> Answer:
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
                )
        except IntegrityError:
            raise Conflict(_("Fee %(id)s is known already.") % {"id": data["fee_id"]}) from None
        body = {
            "fee_id": data["fee_id"],
            "entry_id": fee.pk,
            "user_number": patron.user_number,
            "amount_cents": fee.amount_cents,
            "currency": fee.currency,
            "payment_entry_id": None,
        }
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
            _refuse_other_payment(result, patron=patron, amount_cents=payment["amount_cents"])
            body["payment_entry_id"] = result.money.entry_id
        return Answer(201, body)

    return _idempotent(
        client=client, operation="fee", key=data["fee_id"], request=data, perform=perform
    )


def external_loans_replace(*, user_number: str, loans: list[dict]) -> Answer:
    """PUT semantics: the set sent is the set kept; sending it twice changes nothing."""
    patron = patron_by_number(user_number)
    for index, loan in enumerate(loans):
        check_currency(loan["currency"], field=f"loans.{index}.currency")
    ledger.loans_replace(patron=patron, loans=loans)
    return Answer(200, external_account_summary(user_number=user_number))


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


def _refuse_other_payment(result: TransitionResult, *, patron, amount_cents: int) -> None:
    """A transaction id used before is the same payment only if it says the same."""
    earlier = result.money
    if result.outcome == Outcome.REPEAT and (
        earlier.patron_id != patron.pk or earlier.amount_cents != amount_cents
    ):
        raise Conflict(
            _("Transaction id %(id)s was used before for another payment.")
            % {"id": earlier.external_id}
        )


def external_payment_report(*, client: ApiClient, data: dict) -> Answer:
    """A payment taken by another system: for one of our orders, or for a patron directly.

    The caller's transaction id names one payment across every endpoint that carries one.
    """

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
        _refuse_other_payment(result, patron=patron, amount_cents=data["amount_cents"])
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

    return _idempotent(
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


def external_account_summary(*, user_number: str) -> dict:
    patron = patron_by_number(user_number)
    overview = account_overview(patron=patron, on_date=timezone.localdate())
    reserved = reserved_fee_ids(patron=patron)
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
