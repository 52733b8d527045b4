"""The one mover of payment orders, and its status table.

`payment_order_transition` locks the order row and then the patron's row
(always in that order), checks the move against ALLOWED_MOVES, writes the event
and decides what money means: a report of money is recorded once (MoneyReport)
and booked at once, or held for staff. Webhooks, the return page, reconcile,
the staff desk and the API all call it.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from accounts.models import Patron
from fees import services as ledger
from fees.models import JournalEntry
from payments.models import (
    OPEN_STATUSES,
    PAID_STATUSES,
    UNKNOWN_METHOD,
    EventKind,
    EventSource,
    MoneyReport,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
)
from payments.services.money import (
    fees_in_another_order,
    money_book,
    money_close,
    money_report_create,
    money_report_find,
    money_reports_of,
)
from payments.services.outcomes import Outcome, TransitionResult
from payments.services.refunds import refunds_reserved_cents

S = OrderStatus
Hold = MoneyReport.Hold
# Which status may follow which. Anything else is stale or out of order and is ignored.
ALLOWED_MOVES = {
    S.CREATED: {S.CREATED_AT_PROVIDER, S.PAID, S.UNDERPAID, S.FAILED, S.CANCELLED_BY_BIB},
    S.CREATED_AT_PROVIDER: {S.PAID, S.UNDERPAID, S.FAILED, S.CANCELLED_BY_BIB},
    # Money that arrives after all is recorded: booked after a failure, held after a cancel.
    S.FAILED: {S.PAID, S.UNDERPAID},
    S.CANCELLED_BY_BIB: {S.PAID, S.UNDERPAID},
    S.PAID: {S.CHARGEBACK},
    S.UNDERPAID: {S.CHARGEBACK},
    S.CHARGEBACK: set(),
}


def can_move(order: PaymentOrder, status: str) -> bool:
    return status in ALLOWED_MOVES[order.status]


def payment_order_transition(
    *,
    order: PaymentOrder,
    status: str,
    source: str,
    staff_user=None,
    amount_cents: int | None = None,
    currency: str = "",
    payment_method: str = "",
    provider_event_id: str = "",
    transaction_id: str = "",
    payment_id: str = "",
    api_client=None,
    external_id: str = "",
    kind: str = EventKind.NOTE,
    note: str = "",
) -> TransitionResult:
    """Move an order to `status` if the status table allows it; record and book what that means.

    A Paid or Underpaid is a report of money: `amount_cents` in `currency` (the order's
    amount and currency when not given), from the provider (its checkout is the money's
    id), an API client (`external_id`, the caller's transaction id) or staff.
    """
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        patron = Patron.objects.select_for_update().get(pk=order.patron_id)
        _remember_provider_ids(order, transaction_id, payment_id)
        if (
            provider_event_id
            and PaymentEvent.objects.filter(provider_event_id=provider_event_id).exists()
        ):
            return TransitionResult(order=order, outcome=Outcome.REPEAT)
        if status in PAID_STATUSES:
            received = order.amount_cents if amount_cents is None else amount_cents
            return _money_arrived(
                order,
                patron,
                received=received,
                currency=(currency or order.currency).upper(),
                source=source,
                staff_user=staff_user,
                payment_method=payment_method,
                provider_event_id=provider_event_id,
                origin=_origin(order, source, transaction_id, api_client, external_id),
                note=note,
            )
        if not can_move(order, status):
            return TransitionResult(order=order, outcome=Outcome.REFUSED)
        event = record_event(
            order,
            status=status,
            source=source,
            staff_user=staff_user,
            payment_method=payment_method,
            provider_event_id=provider_event_id,
            kind=kind,
            note=note,
        )
        booked = _take_back(order, event, amount_cents) if status == S.CHARGEBACK else None
        order.save()
    outcome = Outcome.REVERSED if booked else Outcome.MOVED
    return TransitionResult(order=order, outcome=outcome, event=event, booked=booked)


def record_event(
    order: PaymentOrder,
    *,
    status: str,
    source: str,
    staff_user=None,
    payment_method: str = "",
    provider_event_id: str = "",
    amount_cents: int | None = None,
    kind: str = EventKind.NOTE,
    facts: dict | None = None,
    note: str = "",
) -> PaymentEvent:
    """Write the event and set the order's status to it; the caller saves the order."""
    event = PaymentEvent.objects.create(
        order=order,
        status=status,
        source=source,
        staff_user=staff_user,
        payment_method=payment_method or UNKNOWN_METHOD,
        provider_event_id=provider_event_id,
        amount_cents=amount_cents,
        kind=kind,
        facts=facts or {},
        note=note.strip(),
    )
    if status != order.status:
        # A resolution answers the flag it was given for; a new status needs a new look.
        order.flag_resolved_at = None
    order.status = status
    order.updated_at = event.at
    if payment_method:
        order.payment_method = payment_method
    if status not in OPEN_STATUSES:
        order.order_fees.filter(reserved=True).update(reserved=False)
    return event


def _origin(order, source, transaction_id, api_client, external_id) -> dict:
    """Where money comes from and that system's id for it: what makes a report the same money."""
    if source == EventSource.PROVIDER:
        # A checkout is paid once: the provider's repeats name the same checkout (an order
        # never started at the provider has only its own reference to go by).
        checkout = transaction_id or order.provider_transaction_id or order.reference
        return {"provider": order.provider, "external_id": checkout}
    if api_client is not None:
        return {"api_client": api_client, "external_id": external_id}
    return {}


def _money_arrived(
    order, patron, *, received, currency, source, staff_user, payment_method, provider_event_id,
    origin, note,
) -> TransitionResult:  # fmt: skip
    # The order's money and this money's earlier report, if any, in one read.
    reports = money_reports_of(order, **origin)
    if earlier := next((report for report in reports if report.same_money), None):
        return TransitionResult(order=order, outcome=Outcome.REPEAT, money=earlier)
    if source == EventSource.PROVIDER and (completed := _completed_by_staff(reports, order)):
        return _confirm_completion(order, completed, origin, received, payment_method,
                                   provider_event_id, note)  # fmt: skip

    has_money = any(report.order_id == order.pk for report in reports)
    wrong_currency = currency != order.currency or currency != settings.LIBRARY_CURRENCY
    hold = ""
    kind, facts = EventKind.NOTE, {}
    if wrong_currency:
        hold = Hold.WRONG_CURRENCY
        kind = EventKind.HELD_WRONG_CURRENCY
        facts = {"amount_cents": received, "currency": currency, "order_currency": order.currency}
    elif has_money:
        hold = Hold.FURTHER_PAYMENT
        kind = EventKind.HELD_FURTHER_PAYMENT
    elif order.status == S.CANCELLED_BY_BIB and source != EventSource.STAFF:
        # SPEC: after a cancel by the library only staff book a payment.
        hold = Hold.AFTER_CANCELLATION
    elif fees_in_another_order(order):
        # Late money for an order whose fees another payment took on meanwhile: booking it
        # would collect them twice, so staff decide (book it as credit, or refund it).
        hold = Hold.FEES_IN_ANOTHER_ORDER
    status = S.PAID if not wrong_currency and order.paid_in_full_by(received) else S.UNDERPAID
    if has_money or not can_move(order, status):
        status = order.status  # the order's status stays; the event records the money
        hold = hold or Hold.FURTHER_PAYMENT

    report = money_report_create(
        patron=patron,
        order=order,
        amount_cents=received,
        currency=currency,
        source=source,
        payment_method=payment_method or UNKNOWN_METHOD,
        hold=hold,
        **origin,
    )
    if report is None:  # the same money, reported through another order or endpoint meanwhile
        earlier = money_report_find(**origin)
        return TransitionResult(order=order, outcome=Outcome.REPEAT, money=earlier)
    report.order = order
    event = record_event(
        order,
        status=status,
        source=source,
        staff_user=staff_user,
        payment_method=payment_method,
        provider_event_id=provider_event_id,
        amount_cents=None if wrong_currency else received,
        kind=kind,
        facts=facts,
        note=note,
    )
    booked = None
    if not hold:
        # No hold: no other order took these fees on (`fees_in_another_order` said so).
        booked = money_book(
            report=report, patron=patron, staff_user=staff_user, note=note,
            collected_elsewhere=False,
        )  # fmt: skip
    order.save()
    outcome = Outcome.BOOKED if booked else Outcome.RECORDED
    return TransitionResult(order=order, outcome=outcome, event=event, booked=booked, money=report)


def _completed_by_staff(reports: list[MoneyReport], order: PaymentOrder) -> MoneyReport | None:
    """Staff's "complete and book" not yet confirmed by the provider."""
    return next(
        (
            report
            for report in reports
            if report.order_id == order.pk
            and report.source == EventSource.STAFF
            and report.provider == ""
        ),
        None,
    )


def _confirm_completion(
    order, completed, origin, received, payment_method, provider_event_id, note
) -> TransitionResult:
    """The provider's word on an order staff completed: the same money, now with its ids,
    so that a later chargeback or refund finds it. Nothing more is booked."""
    completed.provider = origin["provider"]
    completed.external_id = origin["external_id"]
    completed.save(update_fields=["provider", "external_id"])
    event = record_event(
        order,
        status=order.status,
        source=EventSource.PROVIDER,
        payment_method=payment_method,
        provider_event_id=provider_event_id,
        amount_cents=received,
        kind=EventKind.COMPLETION_CONFIRMED,
        note=note,
    )
    order.save()
    return TransitionResult(order=order, outcome=Outcome.REPEAT, event=event, money=completed)


def _take_back(
    order: PaymentOrder, event: PaymentEvent, disputed_cents: int | None
) -> JournalEntry | None:
    """A chargeback takes back the provider's money: reverse it if it was booked, close it
    if it was still held for staff. The reversal is what the bank disputes (all of the
    payment when the provider does not say), never more than what refunds left of it: the
    order's lock serializes refunds and chargebacks of its money."""
    taken = (
        order.money_reports.filter(
            Q(provider=order.provider, external_id__gt="") | Q(source=EventSource.STAFF)
        )
        .order_by("received_at", "id")
        .first()
    )
    if taken is None:
        return None
    if taken.awaits_staff:
        money_close(report=taken, reason="Charged back before it was booked.")
        return None
    if taken.entry_id is None:
        return None
    refunded = refunds_reserved_cents(order)
    left = ledger.reversible_cents(payment=taken.entry, refunded_cents=refunded)
    amount = left if disputed_cents is None else min(disputed_cents, left)
    if amount <= 0:
        return None
    reversals = ledger.reversal_book(
        payment=taken.entry,
        amount_cents=amount,
        reference=event.provider_event_id,
        booked_by=event.staff_user,
        note=event.note,
        refunded_cents=refunded,
    )
    return reversals[0]


def _remember_provider_ids(order: PaymentOrder, transaction_id: str, payment_id: str) -> None:
    changed = []
    if transaction_id and not order.provider_transaction_id:
        order.provider_transaction_id = transaction_id
        changed.append("provider_transaction_id")
    if payment_id and not order.provider_payment_id:
        order.provider_payment_id = payment_id
        changed.append("provider_payment_id")
    if changed:
        order.save(update_fields=changed)
