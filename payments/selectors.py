"""Reads for the patron pages and the order services."""

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from accounts.models import Patron
from fees import selectors as ledger
from fees.models import JournalEntry
from payments.models import OPEN_STATUSES, OrderFee, OrderStatus, PaymentOrder


def reserved_cents(*, patron: Patron) -> int:
    """What the patron's open orders already cover."""
    total = PaymentOrder.objects.filter(patron=patron, status__in=OPEN_STATUSES).aggregate(
        total=Sum("amount_cents")
    )["total"]
    return total or 0


def fees_awaiting_settlement(*, patron: Patron) -> set[int]:
    """Fees an unsettled payment was made for: paid, but open until the settlement runs."""
    return set(
        JournalEntry.for_fees.through.objects.filter(
            from_journalentry__patron=patron, from_journalentry__settled_in__isnull=True
        ).values_list("to_journalentry_id", flat=True)
    )


def reserved_fee_ids(*, patron: Patron) -> set[int]:
    return set(
        OrderFee.objects.filter(order__patron=patron, reserved=True).values_list(
            "fee_id", flat=True
        )
    )


def patron_orders(*, patron: Patron) -> QuerySet[PaymentOrder]:
    return PaymentOrder.objects.filter(patron=patron).order_by("-created_at", "-id")


@dataclass
class AccountOverview:
    balance_cents: int
    credit_cents: int
    payable_cents: int
    open_fees: list[JournalEntry]
    accruing_fines: list[ledger.AccruingFine]
    recent_entries: list[JournalEntry]
    open_orders: list[PaymentOrder]

    @property
    def selectable_fees(self):
        return [fee for fee in self.open_fees if fee.selectable]


def account_overview(*, patron: Patron, on_date: datetime.date) -> AccountOverview:
    """Everything the account page shows, in a fixed number of queries."""
    open_orders = list(patron_orders(patron=patron).filter(status__in=OPEN_STATUSES))
    balance = ledger.balance_cents(patron=patron)
    reserved = reserved_fee_ids(patron=patron)
    awaiting = fees_awaiting_settlement(patron=patron)
    fees = list(ledger.open_fees(patron=patron))
    for fee in fees:
        fee.reserved = fee.pk in reserved
        fee.awaiting_settlement = fee.pk in awaiting
        fee.selectable = not (fee.reserved or fee.awaiting_settlement)
    return AccountOverview(
        balance_cents=balance,
        credit_cents=ledger.patron_credit_cents(patron=patron),
        payable_cents=max(0, balance - sum(order.amount_cents for order in open_orders)),
        open_fees=fees,
        accruing_fines=ledger.accruing_fines(patron=patron, on_date=on_date),
        recent_entries=list(ledger.recent_entries(patron=patron)),
        open_orders=open_orders,
    )


def needs_attention(*, now) -> dict[str, Q]:
    """The order states staff must look at, each as a filter.

    Each stays within models.ATTENTION_STATES, the partial index that serves them.
    """
    S = OrderStatus
    return {
        "underpaid": Q(status=S.UNDERPAID),
        "chargeback": Q(status=S.CANCELATION),
        "paid_after_cancel": Q(status=S.PAID, payment_entry__isnull=True),
        "paid_twice": Q(extra_payment_cents__isnull=False),
        "stuck": Q(status__in=OPEN_STATUSES, created_at__lt=now - datetime.timedelta(days=1)),
    }


def needs_attention_q(*, now) -> Q:
    combined = Q()
    for condition in needs_attention(now=now).values():
        combined |= condition
    return combined
