"""What each desk action does, through the domain services; each returns its audit row's fields.

They run inside `staffdesk.actions.perform`, which locks the target, turns away a form sent
again and writes the audit row; call them through it.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees import services as ledger
from fees.models import PAYABLE_KINDS, Delivery, JournalEntry, Owner
from payments import services as payment_services
from payments.library_systems import deliveries
from payments.models import MoneyReport, PaymentOrder, Refund
from staffdesk import scope


def _order_fields(order: PaymentOrder, before: str, **fields) -> dict:
    order.refresh_from_db()
    return {
        "patron_id": order.patron_id,
        "order": order,
        "status_before": before,
        "status_after": order.status,
        **fields,
    }


def cancel_order(order: PaymentOrder, staff_user, *, reason: str) -> dict:
    before = order.status
    payment_services.order_cancel(order=order, staff_user=staff_user, reason=reason)
    return _order_fields(order, before, reason=reason)


def complete_order(order: PaymentOrder, staff_user, *, reason: str) -> dict:
    before = order.status
    entry = payment_services.order_complete(
        order=order, staff_user=staff_user, reason=reason
    ).booked
    return _order_fields(order, before, journal_entry=entry, reason=reason)


def book_late_payment(
    order: PaymentOrder, staff_user, *, reason: str, money: MoneyReport | None = None
) -> dict:
    """Book money received for the order (the oldest waiting when `money` is not given)."""
    before = order.status
    entry = payment_services.order_book_late_payment(
        order=order, staff_user=staff_user, reason=reason, money_id=money and money.pk
    )
    return _order_fields(order, before, journal_entry=entry, reason=reason)


def close_money(
    order: PaymentOrder, staff_user, *, reason: str, money: MoneyReport | None = None
) -> dict:
    before = order.status
    payment_services.order_close_money(
        order=order, staff_user=staff_user, reason=reason, money_id=money and money.pk
    )
    return _order_fields(order, before, reason=reason)


def resolve_flag(order: PaymentOrder, staff_user, *, reason: str, resolution: str) -> dict:
    """Record what was done about an underpayment or chargeback."""
    before = order.status
    event = payment_services.order_resolve_flag(
        order=order, staff_user=staff_user, resolution=resolution, reason=reason
    )
    return _order_fields(order, before, resolution=resolution, reason=event.note)


def requery_order(order: PaymentOrder, staff_user) -> dict:
    """Ask the provider again (a network call: run outside any transaction)."""
    payment_services.refuse_unless(payment_services.requery_availability(order))
    before = order.status
    order = payment_services.order_refresh(order=order)
    return {
        "patron_id": order.patron_id,
        "order": order,
        "status_before": before,
        "status_after": order.status,
    }


def _counter_fields(patron: Patron, entry: JournalEntry, note: str) -> dict:
    return {"patron": patron, "journal_entry": entry, "reason": note}


def _named_fees(patron: Patron, for_fees: Iterable[JournalEntry], *, may_name: bool) -> list:
    """The fees a counter booking names to pay, if each is still open on this patron's
    account (the ledger checks whose they are, but not whether anything is left of them)."""
    fees = list(for_fees)
    ids = {fee.pk for fee in fees}
    if not ids:
        return []
    still_open = JournalEntry.objects.filter(
        pk__in=ids, patron=patron, kind__in=PAYABLE_KINDS, cleared_in__isnull=True
    )
    if still_open.count() != len(ids):
        raise ValidationError(_("Choose one of this patron's open fees."), code="for_fees")
    if not may_name:
        raise ValidationError(
            _("Only a payment or a credit note pays named fees."), code="for_fees"
        )
    return fees


# The counter bookings take the same input (the patron page's one form) and use what fits.


def _counter_owner(staff_user, owner: Owner | None) -> Owner | None:
    """Whose money a counter booking is: the owner chosen (one the user books for), else the
    user's one owner, else the default owner's."""
    if owner is None:
        return scope.counter_owner(staff_user)
    if not scope.works_for(staff_user, owner):
        raise ValidationError(_("You do not book for this library."), code="owner")
    return owner


def _fees_of_owner(fees, owner: Owner | None):
    """The fees a booking names, all of its owner's: one owner's money pays no other's."""
    payee = owner or Owner.objects.default()
    if any((fee.owner_id or Owner.objects.default().pk) != payee.pk for fee in fees):
        raise ValidationError(
            _("The fees named belong to another library than the money: book them apart."),
            code="for_fees",
        )
    return fees


def book_counter_payment(
    patron, staff_user, *, amount_cents, note, method="", fee=None, for_fees=(), owner=None
) -> dict:
    """A payment at the counter; it offsets the fees it names first, as an online one."""
    owner = _counter_owner(staff_user, owner)
    entry = ledger.payment_book(
        patron=patron, amount_cents=amount_cents, method=method, booked_by=staff_user,
        note=note, owner=owner,
        for_fees=_fees_of_owner(_named_fees(patron, for_fees, may_name=True), owner),
    )  # fmt: skip
    return _counter_fields(patron, entry, note)


def book_credit_note(
    patron, staff_user, *, amount_cents, note, method="", fee=None, for_fees=(), owner=None
) -> dict:
    owner = _counter_owner(staff_user, owner)
    entry = ledger.credit_note_book(
        patron=patron, amount_cents=amount_cents, note=note, booked_by=staff_user,
        owner=owner,
        for_fees=_fees_of_owner(_named_fees(patron, for_fees, may_name=True), owner),
    )  # fmt: skip
    return _counter_fields(patron, entry, note)


def book_waiver(
    patron, staff_user, *, amount_cents, note, method="", fee=None, for_fees=(), owner=None
) -> dict:
    """Waive one of the patron's open fees (all that is open of it without an amount)."""
    _named_fees(patron, for_fees, may_name=False)
    if fee is None or fee.patron_id != patron.pk:
        raise ValidationError(_("Choose one of this patron's open fees."), code="fee")
    entry = ledger.waiver_book(fee=fee, amount_cents=amount_cents, note=note, booked_by=staff_user)
    return _counter_fields(patron, entry, note)


def book_refund_of_credit(
    patron, staff_user, *, amount_cents, note, method="", fee=None, for_fees=(), owner=None
) -> dict:
    _named_fees(patron, for_fees, may_name=False)
    entry = ledger.refund_book(
        patron=patron, amount_cents=amount_cents, method=method, booked_by=staff_user,
        note=note, owner=_counter_owner(staff_user, owner),
    )  # fmt: skip
    return _counter_fields(patron, entry, note)


def _delivery_fields(delivery: Delivery, before: str, reason: str) -> dict:
    return {
        "patron_id": delivery.entry.patron_id,
        "journal_entry": delivery.entry,
        "status_before": before,
        "status_after": delivery.status,
        "reason": reason,
    }


def retry_delivery(delivery: Delivery, staff_user, *, reason: str = "") -> dict:
    """Send a delivery to the library system again, now (at the worker's next run)."""
    before = delivery.status
    try:
        delivery = deliveries.delivery_retry_now(delivery=delivery)
    except ValueError as error:
        raise ValidationError(str(error), code="not_allowed") from error
    return _delivery_fields(delivery, before, reason)


def resolve_delivery_by_hand(delivery: Delivery, staff_user, *, reason: str = "") -> dict:
    """Record that staff entered the delivery in the library system by hand."""
    if not reason.strip():
        raise ValidationError(_("Say what was done by hand."), code="required")
    before = delivery.status
    try:
        delivery = deliveries.delivery_resolve_by_hand(delivery=delivery, note=reason)
    except ValueError as error:
        raise ValidationError(str(error), code="not_allowed") from error
    return _delivery_fields(delivery, before, reason)


def refund_to_card(
    order: PaymentOrder, staff_user, *, amount_cents: int, source: str, reason: str
) -> dict:
    """Record a refund to the order's card; it is sent to the provider once committed."""
    refund = payment_services.refund_record(
        order=order, amount_cents=amount_cents, source=source, reason=reason,
        staff_user=staff_user,
    )  # fmt: skip
    return {
        "patron_id": order.patron_id,
        "order": order,
        "refund": refund,
        "status_after": refund.status,
        "reason": reason,
    }


def ask_refund_again(refund: Refund, staff_user) -> dict:
    """Ask the provider about a refund still waiting for its answer (a network call;
    ProviderError: still unreachable)."""
    before = refund.status
    refund = payment_services.refund_ask_again(refund=refund)
    return {
        "patron_id": refund.order.patron_id,
        "order_id": refund.order_id,
        "refund": refund,
        "status_before": before,
        "status_after": refund.status,
    }
