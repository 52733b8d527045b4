"""Reads for the patron pages, the order services and the desk. (The library system's
feed of money movements is payments.library_systems.feed.)"""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum

from accounts.models import Patron
from fees import selectors as fees_selectors
from fees.models import EntryKind, JournalEntry, PaymentShare
from fees.selectors import fees_unpaid, open_fees_unpaid, unpaid_cents
from payments import rules
from payments.models import (
    OPEN_STATUSES,
    EventKind,
    MoneyReport,
    OrderFee,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
)


def paid_online(path: str = "") -> Q:
    """Money that came through an order (a provider's, or an external system's, report for
    the order), for the journal entry at `path` ("" or "credit__"): what the desk's "online
    today" and the accounting export both count as online."""
    return Q(**{f"{path}money_report__order__isnull": False})


def reserved_cents(*, patron: Patron) -> int:
    """What the patron's open orders already cover."""
    total = PaymentOrder.objects.filter(patron=patron, status__in=OPEN_STATUSES).aggregate(
        total=Sum("amount_cents")
    )["total"]
    return total or 0


def _orders_with_money_awaiting(*, patron: Patron) -> QuerySet:
    """Orders whose money arrived but waits for staff: paying their fees again would
    collect them twice."""
    held = MoneyReport.objects.awaiting_staff().filter(patron=patron, order__isnull=False)
    return held.values("order_id")


def fees_with_money_awaiting(*, patron: Patron) -> set[int]:
    return set(
        OrderFee.objects.filter(order__in=_orders_with_money_awaiting(patron=patron)).values_list(
            "fee_id", flat=True
        )
    )


def reserved_fee_ids(*, patron_ids) -> set[int]:
    """The fees open orders of these patrons have reserved (the settlement and counter
    payments leave them to those orders)."""
    return set(
        OrderFee.objects.filter(order__patron_id__in=patron_ids, reserved=True).values_list(
            "fee_id", flat=True
        )
    )


def given_up() -> Exists:
    """The order (the outer query's) ended because the patron gave it up."""
    return Exists(PaymentEvent.objects.filter(order=OuterRef("pk"), kind=EventKind.GIVEN_UP))


def patron_orders(*, patron: Patron) -> QuerySet[PaymentOrder]:
    return (
        PaymentOrder.objects.filter(patron=patron)
        .annotate(given_up=given_up())
        .order_by("-created_at", "-id")
    )


def order_page(*, order: PaymentOrder) -> dict:
    """What the patron's order page shows besides the order: its fees, the money received
    for it (and what of it waits for staff), and after an underpayment what arrived and
    what is still to pay."""
    fees = list(order.order_fees.select_related("fee"))
    money = list(order.money_reports.all())
    held = [report for report in money if report.awaits_staff]
    page = {
        "fees": fees,
        "money": money,
        "held": held,
        "held_after_cancellation": any(
            report.hold == MoneyReport.Hold.AFTER_CANCELLATION for report in held
        ),
    }
    if order.status == OrderStatus.UNDERPAID:
        page["received_cents"] = sum(
            report.amount_cents for report in money if report.currency == order.currency
        )
        unpaid = unpaid_cents(order.patron_id)
        page["still_to_pay_cents"] = sum(unpaid.get(line.fee_id, 0) for line in fees)
        page["rest_fee_ids"] = [line.fee_id for line in fees if unpaid.get(line.fee_id, 0) > 0]
    elif order.status == OrderStatus.FAILED:
        page["given_up"] = PaymentOrder.objects.filter(given_up(), pk=order.pk).exists()
    return page


def unsettled_payments_by_fee(*, fee_ids) -> dict[int, list[JournalEntry]]:
    """The payments not yet settled that pay part of each fee, as the library system was
    told (their shares): what covers a fee until the settlement offsets it."""
    shares = PaymentShare.objects.filter(
        fee_id__in=fee_ids, movement__kind=EntryKind.PAYMENT
    ).select_related("movement")
    by_fee: dict[int, list[JournalEntry]] = {}
    # Settled payments are skipped here rather than in WHERE, as in `open_fees_unpaid`.
    for share in shares.order_by("movement__booked_at", "movement_id"):
        if share.movement.settled_in_id is None:
            by_fee.setdefault(share.fee_id, []).append(share.movement)
    return by_fee


@dataclass
class AccountOverview:
    balance_cents: int
    credit_cents: int
    payable_cents: int
    open_fees: list[JournalEntry]
    accruing_fines: list[fees_selectors.AccruingFine]
    recent_entries: list[JournalEntry]
    open_orders: list[PaymentOrder]
    minimum_cents: int = 0

    @property
    def selectable_fees(self):
        return [fee for fee in self.open_fees if fee.selectable]

    @property
    def below_minimum(self) -> bool:
        """Even all that can be selected comes to less than one online payment's minimum."""
        return sum(fee.unpaid_cents for fee in self.selectable_fees) < self.minimum_cents

    def below_minimum_text(self) -> str:
        return rules.below_minimum_text()

    def selected_cents(self, fee_ids) -> int:
        """What paying these fees would charge: the unpaid part of each that can be paid."""
        return sum(fee.unpaid_cents for fee in self.selectable_fees if fee.pk in fee_ids)


def account_overview(*, patron: Patron, on_date: datetime.date) -> AccountOverview:
    """Everything the account page shows, in a fixed number of queries.

    Each open fee says what is still unpaid of it (`unpaid_cents`), which open order holds
    it (`open_order`), and the one payment of today that covers it in full, if that is
    why nothing is left to pay (`paid_today_by`).
    """
    open_orders = list(patron_orders(patron=patron).filter(status__in=OPEN_STATUSES))
    orders_by_id = {order.pk: order for order in open_orders}
    balance, credit = fees_selectors.balance_and_credit_cents(patron=patron)
    fees = fees_unpaid(
        patron.pk,
        open_fees_unpaid(patron.pk).annotate(
            holding_order_id=fees_selectors.journal_subquery(
                f"SELECT held.order_id FROM {OrderFee._meta.db_table} held"
                " WHERE held.fee_id = {journal}.id AND held.reserved"
            ),
            # Counted inside the sum rather than in WHERE, as in `open_fees_unpaid`.
            unsettled_payments_for=fees_selectors.journal_subquery(
                "SELECT COALESCE(SUM(CASE WHEN payment.settled_in_id IS NULL THEN 1 ELSE 0 END), 0)"
                f" FROM {JournalEntry.for_fees.through._meta.db_table} paid_for"
                " JOIN {journal} payment ON payment.id = paid_for.from_journalentry_id"
                " WHERE paid_for.to_journalentry_id = {journal}.id"
            ),
            money_awaiting=Exists(
                OrderFee.objects.filter(
                    fee=OuterRef("pk"), order__in=_orders_with_money_awaiting(patron=patron)
                )
            ),
        ),
    )
    # Only a fee with nothing left to pay can be covered by today's payment: no query
    # when there is none (one at most, whatever the number of fees).
    covering = unsettled_payments_by_fee(fee_ids=[fee.pk for fee in fees if fee.unpaid_cents == 0])
    kinds = rules.fee_kinds(fee.fee_type for fee in fees)
    fees_selectors.name_fee_types(fees, kinds)
    for order in open_orders:
        order.held_fees = []
    for fee in fees:
        fee.open_order = orders_by_id.get(fee.holding_order_id)
        fee.reserved = fee.holding_order_id is not None
        fee.awaiting_settlement = fee.unsettled_payments_for > 0
        fee.partly_paid = 0 < fee.unpaid_cents < fee.open_cents
        covered_by = covering.get(fee.pk, [])
        fee.paid_today_by = (
            covered_by[0]
            if fee.unpaid_cents == 0
            and len(covered_by) == 1
            and covered_by[0].business_date == on_date
            else None
        )
        fee.payable_online = rules.payable_online(fee, kinds)
        fee.selectable = (
            fee.payable_online and not (fee.reserved or fee.money_awaiting) and fee.unpaid_cents > 0
        )
        if fee.open_order is not None:
            fee.open_order.held_fees.append(fee)
    return AccountOverview(
        balance_cents=balance,
        credit_cents=credit,
        payable_cents=fees_selectors.payable_cents(
            patron=patron,
            balance=balance,
            reserved_cents=sum(order.amount_cents for order in open_orders),
        ),
        open_fees=fees,
        accruing_fines=fees_selectors.accruing_fines(patron=patron, on_date=on_date),
        recent_entries=list(fees_selectors.recent_entries(patron=patron)),
        open_orders=open_orders,
        minimum_cents=rules.minimum_cents(),
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

    unresolved = Q(flag_resolved_at__isnull=True)
    return {
        "underpaid": Q(status=S.UNDERPAID) & unresolved & Exists(_fees_still_owed()),
        "chargeback": Q(status=S.CHARGEBACK) & unresolved,
        "paid_after_cancel": money_held(Hold.AFTER_CANCELLATION),
        "paid_twice": money_held(Hold.FURTHER_PAYMENT, Hold.FEES_IN_ANOTHER_ORDER),
        "wrong_currency": money_held(Hold.WRONG_CURRENCY),
        "stuck": Q(status__in=OPEN_STATUSES, created_at__lt=now - datetime.timedelta(days=1)),
    }


def _fees_still_owed() -> QuerySet[OrderFee]:
    """The fees of the order (the outer query's) still owed: not offset in full by the
    settlement, and paid by no other order. An underpaid order whose fees the patron
    has paid in full (online, in a later order, or at the counter and settled) needs no
    more attention."""
    paid_by_another = OrderFee.objects.filter(
        fee_id=OuterRef("fee_id"), order__status=OrderStatus.PAID
    ).exclude(order_id=OuterRef("order_id"))
    return OrderFee.objects.filter(order=OuterRef("pk"), fee__cleared_in__isnull=True).filter(
        ~Exists(paid_by_another)
    )


def needs_attention_q(*, now) -> Q:
    combined = Q()
    for condition in needs_attention(now=now).values():
        combined |= condition
    return combined
