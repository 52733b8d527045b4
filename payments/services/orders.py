"""Creating payment orders and starting them at the provider."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Patron
from fees import selectors as fees_selectors
from fees.amounts import format_money
from fees.models import JournalEntry, Owner
from payments import rules
from payments.models import (
    EventKind,
    EventSource,
    OrderFee,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
)
from payments.providers import get_provider, order_provider
from payments.providers.base import ProviderError
from payments.reference import new_reference
from payments.selectors import fees_with_money_awaiting, reserved_cents
from payments.services.outcomes import TransitionResult
from payments.services.staff import expire_at_provider
from payments.services.sync import order_refresh
from payments.services.transition import payment_order_transition

logger = logging.getLogger(__name__)


IN_AN_OPEN_PAYMENT = gettext_lazy(
    "A selected fee is already in a payment that has not finished yet. "
    "Finish that payment, or choose “Give up this payment” under "
    "Payments in progress; it also ends by itself after a while."
)


def order_owner(fees: Iterable[JournalEntry]) -> Owner:
    """The one owner of these fees (a fee that names none is the default owner's): one
    payment goes to one owner's merchant account."""
    owner_ids = {fee.owner_id for fee in fees}
    default = Owner.objects.default()
    owner_ids = {default.pk if owner_id is None else owner_id for owner_id in owner_ids}
    if len(owner_ids) > 1:
        raise ValidationError(
            _(
                "The selected fees belong to different libraries, which are paid separately. "
                "Please pay each library's fees on their own."
            ),
            code="several_owners",
        )
    (owner_id,) = owner_ids or {default.pk}
    return default if owner_id == default.pk else Owner.objects.get(pk=owner_id)


class UnknownFee(Exception):
    """A fee id that is not one of the patron's open fees (or not a fee at all)."""


def order_create(
    *, patron: Patron, fee_ids: Iterable[int], provider_name: str = ""
) -> PaymentOrder:
    """Reserve the selected fees in a new order, if the balance allows paying them.

    The library's rules (payments.rules) apply first: fee types payable online only,
    and the fees' amount within the owner's online minimum and maximum (its service fee,
    if it charges one, is added to that). Each fee is charged what is
    still unpaid of it: a fee partly paid (an underpaid
    order, a payment at the counter) can have its rest paid at once; one paid in full
    waits for the settlement and cannot be selected again.

    `provider_name`: the provider the patron chose, one of those the owner offers; empty
    for the owner's first.
    """
    fee_ids = set(fee_ids)
    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)
        # A fee is selected by its id or the id of any open debit of it (a reversal that
        # re-opens it, say): all of it that is still unpaid is paid.
        debits = [
            debit
            for debit in fees_selectors.fees_unpaid(patron.pk)
            if debit.pk in fee_ids or debit.fee_group_id in fee_ids
        ]
        if fee_ids - {debit.pk for debit in debits} - {debit.fee_group_id for debit in debits}:
            raise UnknownFee
        if not fee_ids:
            raise ValidationError(_("Please select the fees you want to pay."), code="empty")
        closed_fees = {debit.fee_group_id for debit in debits} - {debit.pk for debit in debits}
        fees_named = {debit.pk: debit for debit in debits}
        fees_named.update(JournalEntry.objects.in_bulk(closed_fees))
        rules.check_fees(fees_named.values())
        owner = order_owner(fees_named[debit.fee_group_id] for debit in debits)
        if provider_name and provider_name not in owner.payment_providers:
            raise ValidationError(
                _(
                    "The chosen payment service is not offered for these fees. Nothing has "
                    "been charged; please choose one of those shown."
                ),
                code="provider_not_offered",
            )
        provider = get_provider(provider_name or None, owner=owner)
        if OrderFee.objects.filter(fee__in=debits, reserved=True).exists():
            raise ValidationError(IN_AN_OPEN_PAYMENT, code="reserved")
        if fees_with_money_awaiting(patron=patron) & {debit.pk for debit in debits}:
            raise ValidationError(
                _(
                    "Money for a selected fee has reached the library and is being checked "
                    "by staff. Please do not pay it again; the fee is cleared once it is booked."
                ),
                code="money_awaiting",
            )
        fees = [debit for debit in debits if debit.unpaid_cents > 0]
        if any(not any(fee_id in (fee.pk, fee.fee_group_id) for fee in fees) for fee_id in fee_ids):
            raise ValidationError(
                _("A selected fee has been paid already and is being processed."),
                code="already_paid",
            )
        unpaid = {fee.pk: fee.unpaid_cents for fee in fees}
        amount = sum(unpaid[fee.pk] for fee in fees)
        rules.check_amount(amount, owner)
        payable = fees_selectors.payable_cents(
            patron=patron, reserved_cents=reserved_cents(patron=patron)
        )
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
        order = _insert_order(patron, owner, fees, unpaid, amount, provider)
        PaymentEvent.objects.create(
            order=order, status=OrderStatus.CREATED, source=EventSource.PORTAL
        )
    return order


def _insert_order(patron, owner, fees, unpaid, amount, provider) -> PaymentOrder:
    # The owner's service fee is charged on top; it is booked once the money arrives.
    service_fee = owner.service_fee_cents
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = PaymentOrder.objects.create(
                    reference=new_reference(),
                    patron=patron,
                    owner=owner,
                    amount_cents=amount + service_fee,
                    service_fee_cents=service_fee,
                    currency=settings.LIBRARY_CURRENCY,
                    provider=provider.name,
                    mode=provider.mode,
                )
        except IntegrityError:
            continue  # a reference already taken: draw another
        try:
            with transaction.atomic():
                OrderFee.objects.bulk_create(
                    OrderFee(order=order, fee=fee, amount_cents=unpaid[fee.pk]) for fee in fees
                )
        except IntegrityError as error:
            raise ValidationError(IN_AN_OPEN_PAYMENT, code="reserved") from error
        return order
    raise RuntimeError("could not draw an unused reference number")


def order_start(*, order: PaymentOrder, return_url: str, cancel_url: str) -> str:
    """Open the checkout at the provider; return where to send the patron.

    When the provider cannot be reached the order ends Failed (its fees are
    free again) and ProviderError is raised for the caller to explain.
    """
    provider = order_provider(order)
    try:
        checkout = provider.start_checkout(order, return_url=return_url, cancel_url=cancel_url)
    except ProviderError as error:
        logger.warning("Checkout for %s failed at %s: %s", order.reference, order.provider, error)
        payment_order_transition(
            order=order,
            status=OrderStatus.FAILED,
            source=EventSource.SYSTEM,
            kind=EventKind.PROVIDER_UNREACHABLE,
            note=str(error),
        )
        raise
    payment_order_transition(
        order=order,
        status=OrderStatus.CREATED_AT_PROVIDER,
        source=EventSource.PROVIDER,
        transaction_id=checkout.transaction_id,
    )
    return checkout.redirect_url


def order_abandon(*, order: PaymentOrder, patron: Patron) -> TransitionResult:
    """The patron gives up a payment still open, to pay its fees again at once.

    The order ends Failed, which frees its fees, and the checkout is closed at the
    provider so that it can no longer be paid. Money that arrives for it all the same is
    a late payment: the transition books it, or holds it for staff when the fees are
    being paid through another order meanwhile.

    Raises PaymentOrder.DoesNotExist for another patron's order and ValidationError
    when the order has ended already (paid, failed or cancelled meanwhile).
    """
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk, patron=patron)
        if not order.is_open:
            raise ValidationError(
                _("This payment has ended already, so there is nothing to give up."),
                code="not_open",
            )
        result = payment_order_transition(
            order=order,
            status=OrderStatus.FAILED,
            source=EventSource.PORTAL,
            kind=EventKind.GIVEN_UP,
        )
    transaction.on_commit(lambda: expire_at_provider(result.order))
    return result


def order_come_back_cancelled(*, order: PaymentOrder) -> bool:
    """The patron came back through the provider's cancel link: give the order up where the
    provider means that by it; whether it was given up. The provider is asked first, so
    that an order paid or approved meanwhile is booked rather than given up."""
    if not order.is_open or not order_provider(order).cancel_gives_up:
        return False
    try:
        order = order_refresh(order=order)
    except ProviderError as error:
        # Without its word the order may have been paid: it stays open for the next check.
        logger.info("Could not ask %s about %s: %s", order.provider, order.reference, error)
        return False
    if not order.is_open:
        return False
    try:
        order_abandon(order=order, patron=order.patron)
    except ValidationError:  # ended by a webhook in the meantime
        return False
    return True
