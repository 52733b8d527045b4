"""Refunds through the provider: money paid back to the card an online payment came from.

A refund is requested in one transaction with the order and patron locked, so that
what is spoken for (refunds requested or made) never exceeds what was paid through
the provider, nor the patron's credit when it pays back credit. It is sent to the
provider after that commit, and moves on the provider's answer, its webhooks and
staff asking again: `refund_update_apply` is the one mover. The journal's refund is
booked once, when the provider confirms (booking key "refund:<id>").
"""

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees import services as ledger
from fees.amounts import format_money, is_whole_cents
from fees.models import EntryKind, JournalEntry
from fees.selectors import balance_cents
from payments.labels import online_method
from payments.models import (
    REFUND_RESERVING_STATUSES,
    EventSource,
    MoneyReport,
    OrderStatus,
    PaymentOrder,
    Refund,
    RefundEvent,
    RefundStatus,
    UnmatchedProviderReport,
)
from payments.providers import ProviderAccount, order_provider
from payments.providers.base import ProviderError, RefundUpdate
from payments.reference import new_reference
from payments.services.outcomes import Availability, Outcome

logger = logging.getLogger(__name__)
R = RefundStatus
# Which status may follow which. A refund can fail after it succeeded (a closed card):
# the money is then back with the library.
ALLOWED_REFUND_MOVES = {
    R.REQUESTED: {R.SUCCEEDED, R.FAILED},
    R.SUCCEEDED: {R.FAILED},
    R.FAILED: set(),
}


def refunds_reserved_cents(order: PaymentOrder) -> int:
    """What of the order's money refunds have spoken for: requested or made."""
    return (
        order.refunds.filter(status__in=REFUND_RESERVING_STATUSES).aggregate(
            total=Sum("amount_cents")
        )["total"]
        or 0
    )


def refundable_cents(order: PaymentOrder) -> int:
    """What of the order's money, booked from the provider (or by staff who saw it there),
    can still go back: less chargebacks, and less refunds requested or made."""
    booked = MoneyReport.objects.filter(
        order=order,
        source__in=[EventSource.PROVIDER, EventSource.STAFF],
        entry__isnull=False,
    )
    paid = booked.aggregate(total=Sum("amount_cents"))["total"] or 0
    charged_back = (
        JournalEntry.objects.filter(
            kind=EntryKind.REVERSAL, target__in=booked.values("entry_id")
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    return max(0, paid - charged_back - refunds_reserved_cents(order))


def refundable_credit_cents(patron: Patron) -> int:
    """The patron's credit less refunds of credit requested and not confirmed yet."""
    waiting = (
        Refund.objects.filter(
            order__patron=patron, source=Refund.Source.CREDIT, status=R.REQUESTED
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    return max(0, -balance_cents(patron=patron) - waiting)


def refund_availability(order: PaymentOrder) -> Availability:
    """Can money go back to this order's card through its provider?"""
    try:
        provider = order_provider(order)
    except ImproperlyConfigured:
        return Availability(False, _("Its provider is no longer set up."))
    if not getattr(provider, "supports_refunds", False):
        return Availability(
            False,
            _("%(provider)s cannot refund through the portal: refund at the counter.")
            % {"provider": order.provider},
        )
    if order.currency != settings.LIBRARY_CURRENCY or not provider.refund_payment_id(order):
        return Availability(False, _("The provider's payment for this order is not known."))
    if order.status == OrderStatus.CHARGEBACK:
        # The card's bank has taken the money back or may still: paying it back as well
        # would pay it out twice.
        return Availability(
            False, _("This payment is disputed (chargeback): it cannot be refunded as well.")
        )
    if refundable_cents(order) <= 0:
        return Availability(False, _("Nothing of this payment is left to refund."))
    return Availability(True)


def refund_request(
    *, order: PaymentOrder, amount_cents: int, source: str, reason: str, staff_user
) -> Refund:
    """Record a refund and send it to the provider; the refund as it stands after the answer.

    Bad input, or an amount beyond what may go back, raises ValidationError and records
    nothing. When the provider cannot be reached the refund stays requested (its amount
    spoken for) until its webhook arrives or staff ask again.
    """
    refund = refund_record(
        order=order, amount_cents=amount_cents, source=source, reason=reason, staff_user=staff_user
    )
    return refund_send(refund=refund)


def refund_record(*, order, amount_cents, source, reason, staff_user) -> Refund:
    """The refund, requested and not sent yet (the desk writes its audit row with it)."""
    if not is_whole_cents(amount_cents) or amount_cents <= 0:
        raise ValidationError(_("The amount must be greater than zero."), code="not_positive")
    if source not in Refund.Source.values:
        raise ValidationError(_("Say what is paid back."), code="source")
    if not reason.strip():
        raise ValidationError(_("A refund needs a reason."), code="required")
    with transaction.atomic():
        # The transition's order: the order's row, then the patron's.
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        patron = Patron.objects.select_for_update().get(pk=order.patron_id)
        availability = refund_availability(order)
        if not availability.allowed:
            raise ValidationError(availability.reason, code="not_refundable")
        left = refundable_cents(order)
        if amount_cents > left:
            raise ValidationError(
                _("At most %(amount)s of this payment can still be refunded.")
                % {"amount": format_money(left, order.currency)},
                code="exceeds_payment",
            )
        if source == Refund.Source.CREDIT:
            credit = refundable_credit_cents(patron)
            if amount_cents > credit:
                raise ValidationError(
                    _("Only the patron's credit of %(credit)s can be refunded.")
                    % {"credit": format_money(credit, order.currency)},
                    code="exceeds_credit",
                )
        refund = Refund.objects.create(
            reference=new_reference("RF"),
            order=order,
            amount_cents=amount_cents,
            currency=order.currency,
            source=source,
            reason=reason.strip(),
            requested_by=staff_user,
        )
        RefundEvent.objects.create(
            refund=refund, status=R.REQUESTED, source=EventSource.STAFF, staff_user=staff_user
        )
    return refund


def refund_send(*, refund: Refund) -> Refund:
    """Ask the provider to pay the refund back (again: it knows the refund by our
    reference, so a repeat never refunds twice) and apply its answer."""
    try:
        update = order_provider(refund.order).refund(refund)
    except ProviderError as error:
        logger.warning("Refund %s waits for %s: %s", refund.reference, refund.order.provider, error)
        return refund
    refund_update_apply(
        provider_name=refund.order.provider, update=update, source=EventSource.PORTAL
    )
    refund.refresh_from_db()
    return refund


def refund_ask_again(*, refund: Refund) -> Refund:
    """Staff or the reconcile job: what does the provider hold for this requested refund?
    If it never reached the provider, it is sent now (ProviderError: still unreachable)."""
    if not refund.is_waiting:
        return refund
    provider = order_provider(refund.order)
    held = provider.refunds_of_payment(provider.refund_payment_id(refund.order))
    mine = [u for u in held if u.refund_reference == refund.reference]
    if not mine:
        return refund_send(refund=refund)
    for update in mine:
        refund_update_apply(provider_name=refund.order.provider, update=update)
    refund.refresh_from_db()
    return refund


def refunds_refresh(*, account: ProviderAccount, provider_name: str, payment_id: str) -> None:
    """The provider says a payment's refunds changed: apply each as the merchant account
    that told it holds it now."""
    for update in account.provider.refunds_of_payment(payment_id):
        refund_update_apply(provider_name=provider_name, update=update, account=account)


def refund_update_apply(
    *,
    provider_name: str,
    update: RefundUpdate,
    source: str = EventSource.PROVIDER,
    account: ProviderAccount | None = None,
) -> Outcome:
    """Move a refund as the provider says: confirmed books it, failed frees its amount.
    News through one merchant `account` moves only refunds of its owners' orders."""
    with transaction.atomic():
        refund = _refund_for(provider_name, update)
        if refund is not None and account is not None and not account.holds(refund.order):
            logger.warning(
                "Refused news of refund %s through another owner's account", refund.reference
            )
            return Outcome.REFUSED
        if refund is None:
            _record_unknown_refund(provider_name, update)
            return Outcome.REFUSED
        if update.provider_refund_id and not refund.provider_refund_id:
            Refund.objects.filter(pk=refund.pk, provider_refund_id=None).update(
                provider_refund_id=update.provider_refund_id
            )
        if update.status == refund.status:
            return Outcome.REPEAT
        if update.status not in ALLOWED_REFUND_MOVES[refund.status]:
            return Outcome.REFUSED
        outcome = Outcome.MOVED
        if update.status == R.SUCCEEDED:
            refund.entry = _book(refund)
            outcome = Outcome.BOOKED
        elif refund.status == R.SUCCEEDED:
            _book_money_back(refund)
            outcome = Outcome.BOOKED
        if update.status == R.FAILED:
            refund.failure = update.failure or _("The provider gave no reason.")
        refund.status = update.status
        refund.updated_at = timezone.now()
        refund.save(update_fields=["entry", "failure", "status", "updated_at"])
        RefundEvent.objects.create(
            refund=refund,
            status=update.status,
            source=source,
            provider_event_id=update.event_id,
            note=update.failure,
        )
        return outcome


def _refund_for(provider_name: str, update: RefundUpdate) -> Refund | None:
    """The refund, locked after its order and patron: every writer of an order's money takes
    the order's row first, then the patron's, so two of them never wait on each other."""
    refunds = Refund.objects.filter(order__provider=provider_name)
    refund = None
    if update.provider_refund_id:
        refund = refunds.filter(provider_refund_id=update.provider_refund_id).first()
    if refund is None and update.refund_reference:
        refund = refunds.filter(reference=update.refund_reference).first()
    if refund is None:
        return None
    PaymentOrder.objects.select_for_update().filter(pk=refund.order_id).get()
    Patron.objects.select_for_update().filter(pk=refund.order.patron_id).get()
    return Refund.objects.select_for_update(of=("self",)).select_related("order").get(pk=refund.pk)


def _book(refund: Refund) -> JournalEntry:
    """The journal's side of a confirmed refund; the booking keys make it happen once."""
    note = f"{refund.reference}: {refund.reason}"
    if refund.source == Refund.Source.PAYMENT:
        # The library gives up this part of what it charged, then pays it back.
        ledger.credit_note_book(
            patron=refund.order.patron_id,
            amount_cents=refund.amount_cents,
            currency=refund.currency,
            note=note,
            booked_by=refund.requested_by,
            booking_key=refund.credit_note_key,
            owner=refund.order.owner,
        )
    return ledger.refund_book(
        patron=refund.order.patron_id,
        amount_cents=refund.amount_cents,
        currency=refund.currency,
        method=online_method(refund.order.provider),
        reference=refund.order.reference,
        booked_by=refund.requested_by,
        note=note,
        booking_key=f"refund:{refund.pk}",
        within_credit=False,
        owner=refund.order.owner,
    )


def _book_money_back(refund: Refund) -> None:
    """A refund that failed after it was confirmed: its money is back with the library, so
    the patron is owed it again, as credit."""
    ledger.credit_note_book(
        patron=refund.order.patron_id,
        amount_cents=refund.amount_cents,
        currency=refund.currency,
        note=f"{refund.reference}: the refund failed at the provider after it was confirmed.",
        booking_key=f"refund-failed:{refund.pk}",
        owner=refund.order.owner,
    )


def _record_unknown_refund(provider_name: str, update: RefundUpdate) -> None:
    """A refund made at the provider, not through the portal: the ledger does not know that
    money left, so staff must book it."""
    if update.status != R.SUCCEEDED:
        return
    logger.warning("%s reports refund %s, unknown here", provider_name, update.provider_refund_id)
    amount = format_money(update.amount_cents or 0, settings.LIBRARY_CURRENCY)
    UnmatchedProviderReport.objects.get_or_create(
        provider=provider_name,
        event_id=f"refund:{update.provider_refund_id}",
        defaults={
            "status": "",  # no order status: a refund
            "payment_id": update.payment_id,
            "amount_cents": update.amount_cents,
            "currency": settings.LIBRARY_CURRENCY,
            "note": f"A refund of {amount} was made at the provider, not through the portal: "
            "book it at the counter as a refund.",
        },
    )
