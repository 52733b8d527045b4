"""Keeping orders in step with the provider: webhooks, the return page, reconcile.

The provider is always asked with the ids the portal stored, never with anything
from a URL. News about money the portal cannot match to an order is recorded for
staff (UnmatchedProviderReport), never dropped.
"""

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from payments.models import (
    PAID_STATUSES,
    EventKind,
    EventSource,
    OrderStatus,
    PaymentOrder,
    UnmatchedProviderReport,
)
from payments.providers import (
    ProviderAccount,
    get_provider,
    order_provider,
    provider_accounts,
)
from payments.providers.base import (
    InvalidSignature,
    ProviderError,
    ProviderUpdate,
    RefundsChanged,
    RefundUpdate,
)
from payments.services.outcomes import Outcome, TransitionResult
from payments.services.refunds import refund_update_apply, refunds_refresh
from payments.services.transition import payment_order_transition

logger = logging.getLogger(__name__)

# News that concerns money: kept for staff when no order matches it.
MONEY_NEWS = (*PAID_STATUSES, OrderStatus.CHARGEBACK)


def provider_update_apply(
    *, provider_name: str, update: ProviderUpdate, account: ProviderAccount | None = None
) -> TransitionResult | None:
    """Apply news from a provider; None when it concerns no order of ours. News through
    one merchant `account` (a webhook) moves only orders of its owners.

    Raises ProviderError when the provider must be asked which order a payment
    belongs to and cannot be reached (the webhook is then answered 503 and retried).
    """
    provider = account.provider if account else get_provider(provider_name)
    order = _order_for(provider_name, provider, update)
    if order is not None and account is not None and not account.holds(order):
        logger.warning("Refused news of %s through another owner's account", order.reference)
        return TransitionResult(order=order, outcome=Outcome.REFUSED)
    if order is None:
        _record_unmatched(provider_name, update)
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
        payment_id=update.payment_id,
        note=update.note,
    )


def _order_for(provider_name: str, provider, update: ProviderUpdate) -> PaymentOrder | None:
    orders = PaymentOrder.objects.filter(provider=provider_name)
    payment_id = update.payment_id
    order = None
    if update.transaction_id:
        order = orders.filter(provider_transaction_id=update.transaction_id).first()
    if order is None and payment_id:
        order = orders.filter(provider_payment_id=payment_id).first()
    if order is None and update.order_reference:
        order = orders.filter(reference=update.order_reference).first()
    if order is None and payment_id and update.status in MONEY_NEWS:
        # A payment whose id the portal never learnt (no Paid message came, staff
        # completed the order): the provider knows which order it was made for.
        reference = provider.order_reference_for_payment(payment_id)
        if reference:
            order = orders.filter(reference=reference).first()
    return order


def _record_unmatched(provider_name: str, update: ProviderUpdate) -> None:
    logger.warning(
        "%s sent news about an unknown payment (transaction %r, payment %r, reference %r, "
        "event %r)",
        provider_name,
        update.transaction_id,
        update.payment_id,
        update.order_reference,
        update.event_id,
    )
    if update.status not in MONEY_NEWS:
        return
    fields = {
        "status": update.status,
        "transaction_id": update.transaction_id,
        "payment_id": update.payment_id,
        "order_reference": update.order_reference[:64],
        "amount_cents": update.amount_cents,
        "currency": update.currency,
        "note": update.note,
    }
    with transaction.atomic():
        if update.event_id:
            UnmatchedProviderReport.objects.get_or_create(
                provider=provider_name, event_id=update.event_id, defaults=fields
            )
        else:
            UnmatchedProviderReport.objects.create(provider=provider_name, **fields)


def order_refresh(*, order: PaymentOrder) -> PaymentOrder:
    """Ask the provider about an open order and record what it says.

    Used by the return page and the reconcile job.
    """
    if not order.is_open:
        return order
    result = _ask_provider(order)
    return result.order if result else order


def order_confirm_at_provider(*, order: PaymentOrder) -> None:
    """After staff completed an order, ask the provider for its word on the payment, so
    that its ids are known when a chargeback or refund names them. Best effort."""
    try:
        _ask_provider(order)
    except (ProviderError, ImproperlyConfigured) as error:
        logger.info("Could not ask %s about %s: %s", order.provider, order.reference, error)


def _ask_provider(order: PaymentOrder) -> TransitionResult | None:
    provider = order_provider(order)
    update = provider.fetch(order)
    if update is None:
        return None
    account = ProviderAccount(provider, frozenset({order.payee.pk}))
    return provider_update_apply(provider_name=order.provider, update=update, account=account)


def order_expire_if_stale(*, order: PaymentOrder, now=None) -> bool:
    """End an order that never reached the provider and can no longer be paid."""
    now = now or timezone.now()
    age = now - order.created_at
    if order.provider_transaction_id or age.total_seconds() < settings.CHECKOUT_EXPIRY_MINUTES * 60:
        return False
    result = payment_order_transition(
        order=order,
        status=OrderStatus.FAILED,
        source=EventSource.SYSTEM,
        kind=EventKind.CHECKOUT_EXPIRED,
    )
    return result.changed


class UnknownProvider(Exception):
    """No provider of that name is set up: nothing was read."""


def webhook_receive(*, provider_name: str, body: bytes, headers) -> None:
    """Verify and apply a provider's webhook delivery.

    Raises UnknownProvider, InvalidSignature (refused, nothing written) or ProviderError
    (the provider must be asked and cannot be: the delivery should come again)."""
    try:
        accounts = provider_accounts(provider_name)
    except ImproperlyConfigured as error:
        raise UnknownProvider(provider_name) from error
    # Each owner's account signs with its own secret: the one that fits says whose it is.
    for account in accounts:
        try:
            updates = account.provider.parse_webhook(body, headers)
            break
        except InvalidSignature as error:
            refusal = error
    else:
        logger.warning("Refused a %s webhook: %s", provider_name, refusal)
        raise refusal
    try:
        for update in updates:
            if isinstance(update, RefundUpdate):
                refund_update_apply(provider_name=provider_name, update=update, account=account)
            elif isinstance(update, RefundsChanged):
                refunds_refresh(
                    account=account, provider_name=provider_name, payment_id=update.payment_id
                )
            else:
                provider_update_apply(provider_name=provider_name, update=update, account=account)
    except ProviderError as error:
        logger.warning("A %s webhook waits for the provider: %s", provider_name, error)
        raise
