"""What staff may do with an order, and doing it. Each check is derived from the status
table (ALLOWED_MOVES), the flagged statuses (FLAG_STATUSES) and the order's money records;
each action goes through the transition or the money services, or writes its event with
`record_event`."""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees.models import JournalEntry
from payments.labels import datetime_label, status_label
from payments.models import (
    FLAG_RESOLUTIONS,
    FLAG_STATUSES,
    EventKind,
    EventSource,
    MoneyReport,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    UnmatchedProviderReport,
)
from payments.providers import order_provider
from payments.providers.base import ProviderError
from payments.services.money import money_book, money_close
from payments.services.outcomes import Availability, TransitionResult
from payments.services.sync import order_confirm_at_provider
from payments.services.transition import can_move, payment_order_transition, record_event

logger = logging.getLogger(__name__)
S = OrderStatus


class ActionRefused(ValidationError):
    """A staff action that the order's state or age does not allow (yet)."""


def completable_from(order: PaymentOrder):
    return order.created_at + datetime.timedelta(days=settings.COMPLETE_AFTER_DAYS)


def cancel_availability(order: PaymentOrder) -> Availability:
    if can_move(order, S.CANCELLED_BY_BIB):
        return Availability(True)
    return Availability(
        False,
        _("Only orders still %(created)s or %(at_provider)s can be cancelled.")
        % {
            "created": status_label(S.CREATED),
            "at_provider": status_label(S.CREATED_AT_PROVIDER),
        },
    )


def complete_availability(order: PaymentOrder, *, now=None) -> Availability:
    now = now or timezone.now()
    if not can_move(order, S.PAID) or order.money_reports.exists():
        return Availability(
            False,
            _("Money has been reported for this order (%(status)s).")
            % {"status": status_label(order.status)},
        )
    start = completable_from(order)
    if now < start:
        return Availability(
            False,
            _("Can be completed from %(date)s.") % {"date": datetime_label(start)},
        )
    return Availability(True)


def _held(order: PaymentOrder):
    return order.money_reports.awaiting_staff().order_by("received_at", "id")


def book_late_availability(order: PaymentOrder) -> Availability:
    held = list(_held(order))
    if any(report.hold != MoneyReport.Hold.WRONG_CURRENCY for report in held):
        return Availability(True)
    if held:
        report = held[0]
        return Availability(
            False,
            _(
                "The money arrived in %(currency)s and cannot be booked in %(ours)s: refund it "
                "at the provider, then close it without booking."
            )
            % {"currency": report.currency, "ours": order.currency},
        )
    return Availability(
        False,
        _(
            "Only money that arrived after the library cancelled the order, or a further "
            "payment for a paid order, is booked here."
        ),
    )


def close_money_availability(order: PaymentOrder) -> Availability:
    if _held(order).exists():
        return Availability(True)
    return Availability(False, _("No money received for this order waits for staff."))


def requery_availability(order: PaymentOrder) -> Availability:
    if order.is_open:
        return Availability(True)
    return Availability(False, _("The order has ended; the provider has nothing more to say."))


def flag_resolutions(order: PaymentOrder) -> list[tuple[str, str]]:
    """The resolutions offered for the order's flag, as (code, label)."""
    return [(choice.value, choice.label) for choice in FLAG_RESOLUTIONS.get(order.status, ())]


def resolve_flag_availability(order: PaymentOrder) -> Availability:
    if order.status not in FLAG_STATUSES:
        return Availability(False, _("Only an underpaid or charged-back order needs resolving."))
    if order.flag_resolved_at is not None:
        return Availability(
            False,
            _("Resolved on %(date)s.") % {"date": datetime_label(order.flag_resolved_at)},
        )
    return Availability(True)


def held_money(order: PaymentOrder, *, bookable: bool = False):
    """The money records of an order that wait for staff, oldest first."""
    held = _held(order)
    return held.exclude(hold=MoneyReport.Hold.WRONG_CURRENCY) if bookable else held


def refuse_unless(availability: Availability) -> None:
    if not availability.allowed:
        raise ActionRefused(availability.reason, code="not_allowed")


def _locked(order: PaymentOrder) -> PaymentOrder:
    return PaymentOrder.objects.select_for_update().get(pk=order.pk)


def order_cancel(*, order: PaymentOrder, staff_user, reason: str = "") -> TransitionResult:
    """CancelledByBib: nothing is booked and nothing is refunded at the provider.

    An open checkout is expired at the provider so the patron cannot finish it.
    """
    with transaction.atomic():
        order = _locked(order)
        refuse_unless(cancel_availability(order))
        result = payment_order_transition(
            order=order,
            status=S.CANCELLED_BY_BIB,
            source=EventSource.STAFF,
            staff_user=staff_user,
            note=reason,
        )
    transaction.on_commit(lambda: expire_at_provider(result.order))
    return result


def expire_at_provider(order: PaymentOrder) -> None:
    try:
        order_provider(order).expire(order)
    except (ProviderError, ImproperlyConfigured) as error:
        logger.warning("Could not expire %s at %s: %s", order.reference, order.provider, error)


def order_complete(*, order: PaymentOrder, staff_user, reason: str = "") -> TransitionResult:
    """Complete and book: a Paid event and a payment, both with the staff member's ID.

    Afterwards the provider is asked about the payment, to learn its ids.
    """
    with transaction.atomic():
        order = _locked(order)
        refuse_unless(complete_availability(order))
        result = payment_order_transition(
            order=order,
            status=S.PAID,
            source=EventSource.STAFF,
            staff_user=staff_user,
            amount_cents=order.amount_cents,
            payment_method=order.payment_method,
            note=reason,
        )
    transaction.on_commit(lambda: order_confirm_at_provider(order=result.order))
    return result


def _held_report(order, report_id, *, bookable) -> MoneyReport:
    held = held_money(order, bookable=bookable).select_for_update()
    report = held.filter(pk=report_id).first() if report_id else held.first()
    if report is None:
        raise ActionRefused(_("This money has been booked or closed already."), code="not_allowed")
    report.order = order
    return report


def _money_facts(report: MoneyReport) -> dict:
    return {
        "amount_cents": report.amount_cents,
        "currency": report.currency,
        "received_at": report.received_at.isoformat(),
    }


def order_book_late_payment(
    *, order: PaymentOrder, staff_user, reason: str = "", money_id: int | None = None
) -> JournalEntry:
    """Book money held for staff (by default the oldest): a payment after a cancel, or a
    further payment, which becomes the patron's credit once the fees are offset."""
    with transaction.atomic():
        order = _locked(order)
        refuse_unless(book_late_availability(order))
        patron = Patron.objects.select_for_update().get(pk=order.patron_id)
        report = _held_report(order, money_id, bookable=True)
        entry = money_book(report=report, patron=patron, staff_user=staff_user, note=reason)
        record_event(
            order,
            status=order.status,
            source=EventSource.STAFF,
            staff_user=staff_user,
            amount_cents=report.amount_cents,
            kind=EventKind.MONEY_BOOKED,
            facts=_money_facts(report),
            note=reason,
        )
        order.save()
        return entry


def order_close_money(
    *, order: PaymentOrder, staff_user, reason: str, money_id: int | None = None
) -> MoneyReport:
    """Close money held for staff without booking it (refunded at the provider, ...)."""
    with transaction.atomic():
        order = _locked(order)
        refuse_unless(close_money_availability(order))
        report = _held_report(order, money_id, bookable=False)
        money_close(report=report, staff_user=staff_user, reason=reason)
        record_event(
            order,
            status=order.status,
            source=EventSource.STAFF,
            staff_user=staff_user,
            kind=EventKind.MONEY_CLOSED,
            facts=_money_facts(report),
            note=reason,
        )
        order.save()
        return report


def unmatched_report_resolve(*, report_id: int, staff_user, resolution: str) -> None:
    """Mark provider news that matches no order as dealt with, by whom and how."""
    if not resolution.strip():
        raise ValidationError(_("Say how it was resolved."), code="required")
    resolved = UnmatchedProviderReport.objects.filter(
        pk=report_id, resolved_at__isnull=True
    ).update(resolved_at=timezone.now(), resolved_by=staff_user, resolution=resolution.strip())
    if not resolved:
        raise ActionRefused(_("This message was resolved already."), code="not_allowed")


def order_resolve_flag(
    *, order: PaymentOrder, staff_user, resolution: str, reason: str
) -> PaymentEvent:
    """Record how staff dealt with an Underpaid or Cancelation: the order leaves "needs
    attention" until its status changes again. Nothing is booked; a waiver or counter
    payment the resolution speaks of is booked on the patron's page."""
    with transaction.atomic():
        order = _locked(order)
        refuse_unless(resolve_flag_availability(order))
        if resolution not in FLAG_RESOLUTIONS.get(order.status, ()):
            raise ValidationError(
                _("Choose one of the resolutions offered for this order."), code="invalid"
            )
        if not reason.strip():
            raise ValidationError(_("Say how it was resolved."), code="required")
        event = record_event(
            order,
            status=order.status,
            source=EventSource.STAFF,
            staff_user=staff_user,
            kind=EventKind.FLAG_RESOLVED,
            facts={"resolution": resolution},
            note=reason,
        )
        order.flag_resolved_at = event.at
        order.save()
        return event
