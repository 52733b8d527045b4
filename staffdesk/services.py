"""Desk actions: each runs the domain service and writes its audit row in one transaction.

A form's one-time `submission` token makes a double submit do nothing the
second time: the first action's row is returned instead.
"""

import uuid
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees import services as ledger
from fees.models import PAYABLE_KINDS, Delivery, JournalEntry
from payments import services as orders
from payments.library_systems import deliveries
from payments.models import PaymentOrder, Refund
from payments.services import refunds
from payments.services import staff as staff_services
from staffdesk.models import StaffAction

Kind = StaffAction.Kind


def _earlier(submission: uuid.UUID | None) -> StaffAction | None:
    """The action this form's token already made, marked as a repeat: the page then says
    nothing more was done, even when the form came back with other values (Back, edit,
    send again)."""
    done = StaffAction.objects.filter(submission=submission).first() if submission else None
    if done is not None:
        done.is_repeat = True
    return done


def desk_order_action(
    *,
    kind: str,
    order: PaymentOrder,
    staff_user,
    reason: str,
    submission=None,
    money=None,
    resolution: str = "",
) -> StaffAction:
    """Cancel, complete and book, book or close money received, resolve a flag; audit it.

    `money` names the money record to book or close (the oldest waiting when not given);
    `resolution` what was done about an underpayment or chargeback.
    """
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        if done := _earlier(submission):
            return done
        before = order.status
        entry = None
        if kind == Kind.CANCEL_ORDER:
            orders.order_cancel(order=order, staff_user=staff_user, reason=reason)
        elif kind == Kind.COMPLETE_ORDER:
            entry = orders.order_complete(order=order, staff_user=staff_user, reason=reason).booked
        elif kind == Kind.BOOK_LATE_PAYMENT:
            entry = orders.order_book_late_payment(
                order=order, staff_user=staff_user, reason=reason, money_id=money and money.pk
            )
        elif kind == Kind.CLOSE_MONEY:
            orders.order_close_money(
                order=order, staff_user=staff_user, reason=reason, money_id=money and money.pk
            )
        elif kind == Kind.RESOLVE_FLAG:
            reason = staff_services.order_resolve_flag(
                order=order, staff_user=staff_user, resolution=resolution, reason=reason
            ).note
        else:
            raise ValueError(f"not an order action: {kind}")
        order.refresh_from_db()
        return StaffAction.objects.create(
            staff_user=staff_user,
            kind=kind,
            patron_id=order.patron_id,
            order=order,
            journal_entry=entry,
            status_before=before,
            status_after=order.status,
            reason=reason,
            submission=submission,
        )


def desk_order_requery(*, order: PaymentOrder, staff_user, submission=None) -> StaffAction:
    """Ask the provider again (outside any transaction: it is a network call)."""
    if done := _earlier(submission):
        return done
    orders.refuse_unless(orders.requery_availability(order))
    before = order.status
    order = orders.order_refresh(order=order)
    try:
        with transaction.atomic():
            return StaffAction.objects.create(
                staff_user=staff_user,
                kind=Kind.REQUERY,
                patron_id=order.patron_id,
                order=order,
                status_before=before,
                status_after=order.status,
                submission=submission,
            )
    except IntegrityError:  # the same form submitted twice at once; asking again is harmless
        return _earlier(submission)


def desk_counter_booking(
    *,
    patron: Patron,
    kind: str,
    amount_cents: int | None,
    staff_user,
    note: str,
    method: str = "",
    fee: JournalEntry | None = None,
    for_fees: Iterable[JournalEntry] = (),
    submission=None,
) -> StaffAction:
    """A payment, credit note, waiver or refund booked at the counter, through the ledger.

    A payment or credit note may name the open fees it pays (`for_fees`): the settlement
    offsets those first, as for an online payment.
    """
    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)
        if done := _earlier(submission):
            return done
        for_fees = _open_fees_of(patron, for_fees)
        if for_fees and kind not in (Kind.COUNTER_PAYMENT, Kind.CREDIT_NOTE):
            raise ValidationError(
                _("Only a payment or a credit note pays named fees."), code="for_fees"
            )
        if kind == Kind.COUNTER_PAYMENT:
            entry = ledger.payment_book(
                patron=patron, amount_cents=amount_cents, method=method,
                booked_by=staff_user, note=note, for_fees=for_fees,
            )  # fmt: skip
        elif kind == Kind.CREDIT_NOTE:
            entry = ledger.credit_note_book(
                patron=patron, amount_cents=amount_cents, note=note, booked_by=staff_user,
                for_fees=for_fees,
            )  # fmt: skip
        elif kind == Kind.WAIVER:
            if fee is None or fee.patron_id != patron.pk:
                raise ValidationError(_("Choose one of this patron's open fees."), code="fee")
            entry = ledger.waiver_book(
                fee=fee, amount_cents=amount_cents, note=note, booked_by=staff_user
            )
        elif kind == Kind.REFUND:
            entry = ledger.refund_book(
                patron=patron, amount_cents=amount_cents, method=method,
                booked_by=staff_user, note=note,
            )  # fmt: skip
        else:
            raise ValueError(f"not a counter booking: {kind}")
        return StaffAction.objects.create(
            staff_user=staff_user,
            kind=kind,
            patron=patron,
            journal_entry=entry,
            reason=note,
            submission=submission,
        )


def _open_fees_of(patron: Patron, fees: Iterable[JournalEntry]) -> list[JournalEntry]:
    """The fees, if each is still open on this patron's account (the ledger checks whose
    they are, but not whether anything is left of them)."""
    fees = list(fees)
    ids = {fee.pk for fee in fees}
    if not ids:
        return []
    still_open = JournalEntry.objects.filter(
        pk__in=ids, patron=patron, kind__in=PAYABLE_KINDS, cleared_in__isnull=True
    )
    if still_open.count() != len(ids):
        raise ValidationError(_("Choose one of this patron's open fees."), code="for_fees")
    return fees


def desk_delivery_action(
    *, kind: str, delivery: Delivery, staff_user, reason: str = "", submission=None
) -> StaffAction:
    """Send a delivery to the library system again, or record that staff entered it there
    by hand; audited like every desk action."""
    with transaction.atomic():
        if done := _earlier(submission):
            return done
        before = delivery.status
        try:
            if kind == Kind.RETRY_DELIVERY:
                delivery = deliveries.delivery_retry_now(delivery=delivery)
            elif kind == Kind.RESOLVE_DELIVERY:
                if not reason.strip():
                    raise ValidationError(_("Say what was done by hand."), code="required")
                delivery = deliveries.delivery_resolve_by_hand(delivery=delivery, note=reason)
            else:
                raise ValueError(f"not a delivery action: {kind}")
        except ValueError as error:
            raise ValidationError(str(error), code="not_allowed") from error
        entry = delivery.entry
        return StaffAction.objects.create(
            staff_user=staff_user,
            kind=kind,
            patron_id=entry.patron_id,
            journal_entry=entry,
            status_before=before,
            status_after=delivery.status,
            reason=reason,
            submission=submission,
        )


def desk_refund_request(
    *, order: PaymentOrder, amount_cents: int, source: str, reason: str, staff_user, submission=None
) -> StaffAction:
    """Refund to the order's card: recorded with its audit row, then sent to the provider
    (a network call, outside the transaction). The action's refund tells how it went."""
    try:
        with transaction.atomic():
            if done := _earlier(submission):
                return done
            refund = refunds.refund_record(
                order=order, amount_cents=amount_cents, source=source, reason=reason,
                staff_user=staff_user,
            )  # fmt: skip
            action = StaffAction.objects.create(
                staff_user=staff_user,
                kind=Kind.REFUND_TO_CARD,
                patron_id=order.patron_id,
                order=order,
                refund=refund,
                status_after=refund.status,
                reason=reason,
                submission=submission,
            )
    except IntegrityError:  # the same form submitted twice at once: the first one stands
        return _earlier(submission)
    refunds.refund_send(refund=refund)
    return action


def desk_refund_ask_again(*, refund: Refund, staff_user) -> StaffAction:
    """Ask the provider about a refund still waiting for its answer (ProviderError: still
    unreachable)."""
    before = refund.status
    refund = refunds.refund_ask_again(refund=refund)
    return StaffAction.objects.create(
        staff_user=staff_user,
        kind=Kind.ASK_REFUND_AGAIN,
        patron_id=refund.order.patron_id,
        order_id=refund.order_id,
        refund=refund,
        status_before=before,
        status_after=refund.status,
    )
