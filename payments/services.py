"""Payment orders: creating them, starting them at the provider, and moving them.

`payment_order_transition` is the one way an order changes status. It locks
the order row and then the patron's row (always in that order), checks the
move against the status table, writes the event and books the journal entry
at most once. Webhooks, the return page, reconcile, the staff desk and the API
all call it.
"""

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees import selectors as ledger
from fees import services as ledger_services
from fees.models import JournalEntry
from fees.money import format_money
from payments.models import (
    OPEN_STATUSES,
    UNKNOWN_METHOD,
    EventSource,
    OrderFee,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
)
from payments.providers import get_provider
from payments.providers.base import InvalidSignature, ProviderError, ProviderUpdate
from payments.receipts import send_receipt
from payments.reference import new_reference
from payments.selectors import fees_awaiting_settlement, reserved_cents

logger = logging.getLogger(__name__)

S = OrderStatus
# Which status may follow which. Anything else is stale or out of order and is ignored.
ALLOWED_MOVES = {
    S.CREATED: {S.CREATED_AT_PROVIDER, S.PAID, S.UNDERPAID, S.FAILED, S.CANCELLED_BY_BIB},
    S.CREATED_AT_PROVIDER: {S.PAID, S.UNDERPAID, S.FAILED, S.CANCELLED_BY_BIB},
    # Money that arrives after all is recorded: booked after a failure, flagged after a cancel.
    S.FAILED: {S.PAID, S.UNDERPAID},
    S.CANCELLED_BY_BIB: {S.PAID, S.UNDERPAID},
    S.PAID: {S.CANCELATION},
    S.UNDERPAID: {S.CANCELATION},
    S.CANCELATION: set(),
}


class UnknownFee(Exception):
    """A fee id that is not one of the patron's open fees (or not a fee at all)."""


@dataclass(frozen=True)
class TransitionResult:
    order: PaymentOrder
    changed: bool
    event: PaymentEvent | None = None
    booked: JournalEntry | None = None
    # A second, separate payment for an order already paid: recorded, flagged, not booked.
    further_payment: bool = False


def order_create(*, patron: Patron, fee_ids: Iterable[int]) -> PaymentOrder:
    """Reserve the selected fees in a new order, if the balance allows paying them."""
    fee_ids = set(fee_ids)
    provider = get_provider()
    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)
        fees = list(ledger.open_fees(patron=patron).filter(pk__in=fee_ids))
        if len(fees) != len(fee_ids):
            raise UnknownFee
        if not fees:
            raise ValidationError(_("Please select the fees you want to pay."), code="empty")
        if OrderFee.objects.filter(fee__in=fees, reserved=True).exists():
            raise ValidationError(
                _(
                    "A selected fee is already in a payment that has not finished yet. "
                    "Finish or leave that payment first; it ends by itself after a while."
                ),
                code="reserved",
            )
        if fees_awaiting_settlement(patron=patron) & fee_ids:
            raise ValidationError(
                _("A selected fee has been paid already and is being processed."),
                code="already_paid",
            )
        amount = sum(fee.open_cents for fee in fees)
        payable = ledger.payable_cents(patron=patron, reserved_cents=reserved_cents(patron=patron))
        if amount > payable:
            raise ValidationError(
                _(
                    "Only fees up to your balance can be paid: at most %(payable)s right now "
                    "(your balance less payments still in progress). Please deselect some fees "
                    "and try again."
                )
                % {"payable": format_money(payable, settings.LIBRARY_CURRENCY)},
                code="exceeds_payable",
                params={"payable_cents": payable},
            )
        order = _insert_order(patron, fees, amount, provider)
        PaymentEvent.objects.create(order=order, status=S.CREATED, source=EventSource.PORTAL)
    return order


def _insert_order(patron, fees, amount, provider) -> PaymentOrder:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = PaymentOrder.objects.create(
                    reference=new_reference(),
                    patron=patron,
                    amount_cents=amount,
                    currency=settings.LIBRARY_CURRENCY,
                    provider=provider.name,
                    mode=provider.mode,
                )
        except IntegrityError:
            continue  # a reference already taken: draw another
        try:
            with transaction.atomic():
                OrderFee.objects.bulk_create(
                    OrderFee(order=order, fee=fee, amount_cents=fee.open_cents) for fee in fees
                )
        except IntegrityError as error:
            raise ValidationError(
                _("A selected fee is already in a payment that has not finished yet."),
                code="reserved",
            ) from error
        return order
    raise RuntimeError("could not draw an unused reference number")


def order_start(*, order: PaymentOrder, return_url: str, cancel_url: str) -> str:
    """Open the checkout at the provider; return where to send the patron.

    When the provider cannot be reached the order ends Failed (its fees are
    free again) and ProviderError is raised for the caller to explain.
    """
    provider = get_provider(order.provider)
    try:
        checkout = provider.start_checkout(order, return_url=return_url, cancel_url=cancel_url)
    except ProviderError as error:
        logger.warning("Checkout for %s failed at %s: %s", order.reference, order.provider, error)
        payment_order_transition(
            order=order,
            status=S.FAILED,
            source=EventSource.SYSTEM,
            note=f"The provider could not be reached: {error}",
        )
        raise
    payment_order_transition(
        order=order,
        status=S.CREATED_AT_PROVIDER,
        source=EventSource.PROVIDER,
        transaction_id=checkout.transaction_id,
    )
    return checkout.redirect_url


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
    note: str = "",
) -> TransitionResult:
    """Move an order to `status` if the status table allows it; book what that means."""
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        patron = Patron.objects.select_for_update().get(pk=order.patron_id)
        _remember_provider_ids(order, transaction_id, payment_id)
        if (
            provider_event_id
            and PaymentEvent.objects.filter(provider_event_id=provider_event_id).exists()
        ):
            return TransitionResult(order=order, changed=False)
        if _is_further_payment(order, status, source):
            return _record_further_payment(
                order,
                amount_cents=amount_cents,
                source=source,
                payment_method=payment_method,
                provider_event_id=provider_event_id,
                note=note,
            )
        if status not in ALLOWED_MOVES[order.status]:
            return TransitionResult(order=order, changed=False)

        previous = order.status
        received = None
        if status in (S.PAID, S.UNDERPAID):
            received = order.amount_cents if amount_cents is None else amount_cents
            if currency and currency.upper() != order.currency:
                note = (
                    f"{note} Received {received} {currency.upper()}, ordered in {order.currency}."
                )
                status, received = S.UNDERPAID, None
            elif received < order.amount_cents:
                status = S.UNDERPAID
        method = payment_method or UNKNOWN_METHOD
        event = PaymentEvent.objects.create(
            order=order,
            status=status,
            source=source,
            staff_user=staff_user,
            payment_method=method,
            provider_event_id=provider_event_id,
            amount_cents=received,
            note=note.strip(),
        )
        order.status = status
        order.updated_at = event.at
        if payment_method:
            order.payment_method = payment_method

        booked = None
        # After a cancel by the library only staff book a payment (SPEC: book manually).
        books = previous != S.CANCELLED_BY_BIB or source == EventSource.STAFF
        if received and books and order.payment_entry_id is None:
            booked = _book_payment(order, patron, received, method, staff_user, note)
        elif status == S.CANCELATION and order.payment_entry_id:
            booked = ledger_services.reversal_book(
                payment=order.payment_entry,
                reference=provider_event_id,
                booked_by=staff_user,
                note=note.strip(),
            )
        if status not in OPEN_STATUSES:
            order.order_fees.filter(reserved=True).update(reserved=False)
        order.save()
    return TransitionResult(order=order, changed=True, event=event, booked=booked)


def _book_payment(order, patron, amount_cents, method, staff_user, note) -> JournalEntry:
    entry = ledger_services.payment_book(
        patron=patron,
        amount_cents=amount_cents,
        for_fees=order.fees.all(),
        method=f"online: {method}",
        reference=order.reference,
        booked_by=staff_user,
        note=note.strip(),
    )
    order.payment_entry = entry
    transaction.on_commit(lambda: send_receipt(order_id=order.pk))
    return entry


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


def _is_further_payment(order: PaymentOrder, status: str, source: str) -> bool:
    """Does this Paid, for an order paid already, report money received a second time?

    An external system reports each payment under its own transaction id, so every
    report for a paid order is another payment. The provider's repeats (Stripe's
    completed and async_succeeded, a resent callback) describe the one payment it
    already reported, unless that Paid came from an external system. Staff completion
    rests on the provider's evidence, so it is not a payment system of its own.
    """
    paid_states = (S.PAID, S.UNDERPAID, S.CANCELATION)
    if status not in (S.PAID, S.UNDERPAID) or order.status not in paid_states:
        return False
    if source == EventSource.STAFF:
        return False
    if source == EventSource.API:
        return True
    first_paid_by = (
        order.events.filter(status__in=[S.PAID, S.UNDERPAID])
        .exclude(source=EventSource.STAFF)
        .order_by("at", "id")
        .values_list("source", flat=True)
        .first()
    )
    return first_paid_by is not None and first_paid_by != source


def _record_further_payment(
    order: PaymentOrder, *, amount_cents, source, payment_method, provider_event_id, note
) -> TransitionResult:
    received = order.amount_cents if amount_cents is None else amount_cents
    event = PaymentEvent.objects.create(
        order=order,
        status=order.status,  # the order's status stays; the event records the money
        source=source,
        payment_method=payment_method or UNKNOWN_METHOD,
        provider_event_id=provider_event_id,
        amount_cents=received,
        note=f"Further payment reported, not booked. {note}".strip(),
    )
    order.extra_payment_cents = (order.extra_payment_cents or 0) + received
    order.updated_at = event.at
    order.save(update_fields=["extra_payment_cents", "updated_at"])
    return TransitionResult(order=order, changed=False, event=event, further_payment=True)


def provider_update_apply(*, provider_name: str, update: ProviderUpdate) -> TransitionResult | None:
    """Apply news from a provider; None when it concerns no order of ours."""
    orders = PaymentOrder.objects.filter(provider=provider_name)
    order = None
    if update.transaction_id:
        order = orders.filter(provider_transaction_id=update.transaction_id).first()
    if order is None and update.extra.get("payment_id"):
        order = orders.filter(provider_payment_id=update.extra["payment_id"]).first()
    if order is None and update.order_reference:
        order = orders.filter(reference=update.order_reference).first()
    if order is None:
        logger.warning(
            "%s sent news about an unknown payment (transaction %r, reference %r, event %r)",
            provider_name,
            update.transaction_id,
            update.order_reference,
            update.event_id,
        )
        return None
    return payment_order_transition(
        order=order,
        status=update.status,
        source=EventSource.PROVIDER,
        amount_cents=update.amount_cents,
        currency=update.currency,
        payment_method=update.payment_method,
        provider_event_id=update.event_id,
        transaction_id=update.transaction_id,
        payment_id=update.extra.get("payment_id", ""),
        note=update.note,
    )


def order_refresh(*, order: PaymentOrder) -> PaymentOrder:
    """Ask the provider about an open order and record what it says.

    Used by the return page and the reconcile job. The provider is asked with
    the transaction id the portal stored, never with anything from a URL.
    """
    if not order.is_open:
        return order
    update = get_provider(order.provider).fetch(order)
    if update is None:
        return order
    result = provider_update_apply(provider_name=order.provider, update=update)
    return result.order if result else order


def order_expire_if_stale(*, order: PaymentOrder, now=None) -> bool:
    """End an order that never reached the provider and can no longer be paid."""
    now = now or timezone.now()
    age = now - order.created_at
    if order.provider_transaction_id or age.total_seconds() < settings.CHECKOUT_EXPIRY_MINUTES * 60:
        return False
    result = payment_order_transition(
        order=order,
        status=S.FAILED,
        source=EventSource.SYSTEM,
        note="The checkout never reached the provider and has expired.",
    )
    return result.changed


def webhook_receive(*, provider_name: str, body: bytes, headers) -> int:
    """Verify and apply a provider's webhook delivery; the HTTP status to answer."""
    try:
        provider = get_provider(provider_name)
    except ImproperlyConfigured:
        return 404
    try:
        updates = provider.parse_webhook(body, headers)
    except InvalidSignature as error:
        logger.warning("Refused a %s webhook: %s", provider_name, error)
        return 400
    for update in updates:
        provider_update_apply(provider_name=provider_name, update=update)
    return 200


# --- What staff may do with an order ----------------------------------------------------


class ActionRefused(ValidationError):
    """A staff action that the order's state or age does not allow (yet)."""


@dataclass(frozen=True)
class Availability:
    allowed: bool
    reason: str = ""


def _has_paid_message(order: PaymentOrder) -> bool:
    return order.events.filter(status__in=[S.PAID, S.UNDERPAID]).exists()


def completable_from(order: PaymentOrder):
    return order.created_at + datetime.timedelta(days=settings.COMPLETE_AFTER_DAYS)


def cancel_availability(order: PaymentOrder) -> Availability:
    if order.is_open:
        return Availability(True)
    return Availability(
        False, _("Only orders still Created or CreatedAtProvider can be cancelled.")
    )


def complete_availability(order: PaymentOrder, *, now=None) -> Availability:
    now = now or timezone.now()
    if order.status in (S.PAID, S.UNDERPAID, S.CANCELATION) or _has_paid_message(order):
        return Availability(False, _("A Paid message has arrived for this order."))
    start = completable_from(order)
    if now < start:
        return Availability(
            False,
            _("Can be completed from %(date)s.")
            % {"date": timezone.localtime(start).strftime("%Y-%m-%d %H:%M")},
        )
    return Availability(True)


def book_late_availability(order: PaymentOrder) -> Availability:
    if order.unbooked_payment:
        return Availability(True)
    return Availability(
        False,
        _(
            "Only a payment that arrived after the library cancelled the order, or a further "
            "payment for a paid order, is booked here."
        ),
    )


def requery_availability(order: PaymentOrder) -> Availability:
    if order.is_open:
        return Availability(True)
    return Availability(False, _("The order has ended; the provider has nothing more to say."))


def _locked(order: PaymentOrder) -> PaymentOrder:
    return PaymentOrder.objects.select_for_update().get(pk=order.pk)


def refuse_unless(availability: Availability) -> None:
    if not availability.allowed:
        raise ActionRefused(availability.reason, code="not_allowed")


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
    transaction.on_commit(lambda: _expire_at_provider(result.order))
    return result


def _expire_at_provider(order: PaymentOrder) -> None:
    try:
        get_provider(order.provider).expire(order)
    except (ProviderError, ImproperlyConfigured) as error:
        logger.warning("Could not expire %s at %s: %s", order.reference, order.provider, error)


def order_complete(*, order: PaymentOrder, staff_user, reason: str = "") -> TransitionResult:
    """Complete and book: a Paid event and a payment, both with the staff member's ID."""
    with transaction.atomic():
        order = _locked(order)
        refuse_unless(complete_availability(order))
        return payment_order_transition(
            order=order,
            status=S.PAID,
            source=EventSource.STAFF,
            staff_user=staff_user,
            amount_cents=order.amount_cents,
            payment_method=order.payment_method,
            note=reason,
        )


def order_book_late_payment(*, order: PaymentOrder, staff_user, reason: str = "") -> JournalEntry:
    """Book money reported but not booked: a Paid after a cancel, or a further payment.

    A further payment is booked for the patron (it becomes credit once the fees are
    offset) but is not the order's assigned payment, which it already has.
    """
    with transaction.atomic():
        order = _locked(order)
        refuse_unless(book_late_availability(order))
        patron = Patron.objects.select_for_update().get(pk=order.patron_id)
        if order.extra_payment_cents is not None:
            entry = ledger_services.payment_book(
                patron=patron,
                amount_cents=order.extra_payment_cents,
                method=order.payment_method,
                reference=order.reference,
                booked_by=staff_user,
                note=reason,
            )
            order.extra_payment_cents = None
            order.updated_at = timezone.now()
            order.save(update_fields=["extra_payment_cents", "updated_at"])
            return entry
        received = (
            order.events.filter(status=S.PAID, source__in=[EventSource.PROVIDER, EventSource.API])
            .values_list("amount_cents", flat=True)
            .last()
        ) or order.amount_cents
        entry = _book_payment(order, patron, received, order.payment_method, staff_user, reason)
        order.updated_at = timezone.now()
        order.save(update_fields=["payment_entry", "updated_at"])
        return entry
