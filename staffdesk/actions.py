"""The staff desk's actions, declared once each, and the one path every action goes through.

Each action names its permission, the form that reads its input, what the page says when
it is done and the service it calls. `perform` locks what the action works on, makes a
form sent again do nothing more (its one-time `submission` token finds the first action's
row), runs the service and writes the audit row, in one transaction: a refused action
(ValidationError) writes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from fees import services as ledger
from fees.amounts import format_money
from payments import services as payment_services
from payments.models import PaymentOrder, RefundStatus
from staffdesk import services
from staffdesk.forms import (
    COUNTER_KINDS,
    DELIVERY_ACTIONS,
    AskAgainForm,
    CounterBookingForm,
    DeliveryActionForm,
    MoneyActionForm,
    OrderActionForm,
    RefundForm,
    RequeryForm,
    ResolveFlagForm,
)
from staffdesk.models import StaffAction

Kind = StaffAction.Kind
# What a page says: a level of django.contrib.messages and its text.
Message = tuple[int, str]


def lock_order(order: PaymentOrder) -> PaymentOrder:
    return PaymentOrder.objects.select_for_update().get(pk=order.pk)


def done(text) -> Callable[["DeskAction", StaffAction], Message]:
    return lambda action, row: (messages.SUCCESS, str(text))


def done_with_label(action: "DeskAction", row: StaffAction) -> Message:
    return messages.SUCCESS, _("Done: %(action)s.") % {"action": action.label}


def refund_outcome(action: "DeskAction", row: StaffAction) -> Message:
    """How the provider answered: refunded, refused, or no answer yet."""
    refund = row.refund
    amount = format_money(refund.amount_cents, refund.currency)
    if refund.status == RefundStatus.SUCCEEDED:
        return messages.SUCCESS, _("%(amount)s refunded to the card.") % {"amount": amount}
    if refund.status == RefundStatus.FAILED:
        return messages.ERROR, _("The provider refused the refund of %(amount)s: %(reason)s") % {
            "amount": amount,
            "reason": refund.failure,
        }
    return messages.WARNING, _(
        "The provider has not confirmed the refund of %(amount)s yet. It stays "
        "requested and is booked when the provider confirms it."
    ) % {"amount": amount}


def send_refund(row: StaffAction) -> None:
    payment_services.refund_send(refund=row.refund)
    row.refund.refresh_from_db()  # the provider's answer was saved on another instance


@dataclass(frozen=True)
class DeskAction:
    kind: str
    label: str
    permission: str
    form: type
    # (target, staff_user, **the form's input) -> the audit row's fields; ValidationError
    # refuses the action.
    service: Callable[..., dict]
    # What the page says once it is done.
    confirmation: Callable[["DeskAction", StaffAction], Message]
    # Locks the target's row for the transaction, so that two staff acting on it take turns
    # (None: nothing is locked before the service runs).
    lock: Callable | None = None
    # False for a call to the provider: made outside any transaction, the row written after.
    in_transaction: bool = True
    # Runs once the action's row is committed (a network call that must not hold locks).
    after_commit: Callable[[StaffAction], None] | None = None
    # An action on the order page: its URL slug, whether the order allows it now, and what
    # the form offers for the order (money records to choose from, resolutions).
    slug: str = ""
    availability: Callable | None = None
    form_arguments: Callable[[PaymentOrder], dict] | None = None


def _counter(kind: str, service: Callable) -> DeskAction:
    return DeskAction(
        kind, dict(COUNTER_KINDS)[kind], "accounts.book_counter_entry", CounterBookingForm,
        service, done(_("Booked.")), lock=ledger.patron_lock,
    )  # fmt: skip


def _delivery(kind: str, service: Callable, confirmation: str) -> DeskAction:
    return DeskAction(
        kind, dict(DELIVERY_ACTIONS)[kind], "accounts.manage_deliveries", DeliveryActionForm,
        service, done(confirmation),
    )  # fmt: skip


DESK_ACTIONS: dict[str, DeskAction] = {
    action.kind: action
    for action in [
        # The order page's buttons, in this order.
        DeskAction(
            Kind.CANCEL_ORDER, _("Cancel order"), "accounts.cancel_order", OrderActionForm,
            services.cancel_order, done_with_label, lock=lock_order,
            slug="cancel", availability=payment_services.cancel_availability,
        ),
        DeskAction(
            Kind.COMPLETE_ORDER, _("Complete and book"), "accounts.complete_order",
            OrderActionForm, services.complete_order, done_with_label, lock=lock_order,
            slug="complete", availability=payment_services.complete_availability,
        ),
        DeskAction(
            Kind.BOOK_LATE_PAYMENT, _("Book late payment"), "accounts.book_late_payment",
            MoneyActionForm, services.book_late_payment, done_with_label, lock=lock_order,
            slug="book-late", availability=payment_services.book_late_availability,
            form_arguments=lambda order: {
                "held": payment_services.held_money(order, bookable=True)
            },
        ),
        DeskAction(
            Kind.CLOSE_MONEY, _("Close without booking"), "accounts.book_late_payment",
            MoneyActionForm, services.close_money, done_with_label, lock=lock_order,
            slug="close-money", availability=payment_services.close_money_availability,
            form_arguments=lambda order: {"held": payment_services.held_money(order)},
        ),
        DeskAction(
            Kind.REQUERY, _("Ask the provider again"), "accounts.use_desk", RequeryForm,
            services.requery_order, done_with_label, in_transaction=False,
            slug="requery", availability=payment_services.requery_availability,
        ),
        DeskAction(
            Kind.RESOLVE_FLAG, _("Mark as resolved"), "accounts.resolve_flag", ResolveFlagForm,
            services.resolve_flag, done_with_label, lock=lock_order,
            slug="resolve", availability=payment_services.resolve_flag_availability,
            form_arguments=lambda order: {"resolutions": payment_services.flag_resolutions(order)},
        ),
        # The patron page's counter bookings.
        _counter(Kind.COUNTER_PAYMENT, services.book_counter_payment),
        _counter(Kind.CREDIT_NOTE, services.book_credit_note),
        _counter(Kind.WAIVER, services.book_waiver),
        _counter(Kind.REFUND, services.book_refund_of_credit),
        # The deliveries page.
        _delivery(
            Kind.RETRY_DELIVERY, services.retry_delivery,
            _("It is sent again at the delivery worker's next run."),
        ),
        _delivery(
            Kind.RESOLVE_DELIVERY, services.resolve_delivery_by_hand,
            _("Marked as resolved by hand: it is not sent again."),
        ),
        # Refunds to the card, behind their own permission.
        DeskAction(
            Kind.REFUND_TO_CARD, _("Refund to the card"), "accounts.refund_to_card", RefundForm,
            services.refund_to_card, refund_outcome, after_commit=send_refund,
        ),
        DeskAction(
            Kind.ASK_REFUND_AGAIN, _("Ask the provider again"), "accounts.refund_to_card",
            AskAgainForm, services.ask_refund_again, refund_outcome, in_transaction=False,
        ),
    ]
}  # fmt: skip

ORDER_ACTIONS = {action.slug: action for action in DESK_ACTIONS.values() if action.slug}
COUNTER_ACTIONS = {kind: DESK_ACTIONS[kind] for kind, _label in COUNTER_KINDS}
DELIVERY_PAGE_ACTIONS = {kind: DESK_ACTIONS[kind] for kind, _label in DELIVERY_ACTIONS}


def perform(action: DeskAction | str, target, *, staff_user, submission=None, **given):
    """Run a desk action on its target (an order, patron, delivery or refund) and audit it.

    `given` is the form's input for the action's service. A form sent again (its
    `submission` token used before) does nothing more: the first action's row comes back,
    marked `is_repeat`.
    """
    if isinstance(action, str):
        action = DESK_ACTIONS[action]
    try:
        if not action.in_transaction:
            if earlier := earlier_action(submission):
                return earlier
            fields = action.service(target, staff_user, **given)
            with transaction.atomic():
                return record(action.kind, staff_user, submission, fields)
        with transaction.atomic():
            if action.lock:
                target = action.lock(target)
            if earlier := earlier_action(submission):
                return earlier
            row = record(
                action.kind, staff_user, submission, action.service(target, staff_user, **given)
            )
    except IntegrityError:
        # The same form sent twice at once: the first one stands.
        if earlier := earlier_action(submission):
            return earlier
        raise
    if action.after_commit:
        action.after_commit(row)
    return row


def earlier_action(submission) -> StaffAction | None:
    """The action this form's token already made, marked as a repeat: the page then says
    nothing more was done, even when the form came back with other values (Back, edit,
    send again)."""
    earlier = StaffAction.objects.filter(submission=submission).first() if submission else None
    if earlier is not None:
        earlier.is_repeat = True
    return earlier


def record(kind: str, staff_user, submission, fields: dict) -> StaffAction:
    """The audit row of a desk action: who did what to which order, entry or refund, why."""
    return StaffAction.objects.create(
        kind=kind, staff_user=staff_user, submission=submission, **fields
    )
