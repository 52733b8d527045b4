"""Reads for the patron pages and the order services."""

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from accounts.models import Patron
from fees import selectors as ledger
from fees.models import JournalEntry
from payments.models import OPEN_STATUSES, MoneyReport, OrderFee, OrderStatus, PaymentOrder


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


def fees_with_money_awaiting(*, patron: Patron) -> set[int]:
    """Fees of orders whose money arrived but waits for staff: paying them again would
    collect them twice."""
    held = MoneyReport.objects.awaiting_staff().filter(patron=patron, order__isnull=False)
    return set(
        OrderFee.objects.filter(order__in=held.values("order_id")).values_list("fee_id", flat=True)
    )


def fees_in_open_orders(*, patron_ids) -> set[int]:
    """The fees open orders hold (the settlement leaves them to those orders)."""
    return set(
        OrderFee.objects.filter(order__patron_id__in=patron_ids, reserved=True).values_list(
            "fee_id", flat=True
        )
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
    money_awaiting = fees_with_money_awaiting(patron=patron)
    fees = list(ledger.open_fees(patron=patron))
    for fee in fees:
        fee.reserved = fee.pk in reserved
        fee.awaiting_settlement = fee.pk in awaiting
        fee.money_awaiting = fee.pk in money_awaiting
        fee.selectable = not (fee.reserved or fee.awaiting_settlement or fee.money_awaiting)
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

    The status ones stay within models.ATTENTION_STATES, the partial index that serves
    them; money held for staff is found through its own partial index.
    """
    S = OrderStatus
    Hold = MoneyReport.Hold
    held = MoneyReport.objects.awaiting_staff()

    def money_held(*reasons):
        return Q(pk__in=held.filter(hold__in=reasons).values("order_id"))

    return {
        "underpaid": Q(status=S.UNDERPAID),
        "chargeback": Q(status=S.CANCELATION),
        "paid_after_cancel": money_held(Hold.AFTER_CANCELLATION),
        "paid_twice": money_held(Hold.FURTHER_PAYMENT, Hold.FEES_IN_ANOTHER_ORDER),
        "wrong_currency": money_held(Hold.WRONG_CURRENCY),
        "stuck": Q(status__in=OPEN_STATUSES, created_at__lt=now - datetime.timedelta(days=1)),
    }


def needs_attention_q(*, now) -> Q:
    combined = Q()
    for condition in needs_attention(now=now).values():
        combined |= condition
    return combined
