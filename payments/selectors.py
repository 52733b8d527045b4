"""Reads for the patron pages, the order services and the desk. (The library system's
feed of money movements is payments.library_systems.feed.)"""

import datetime
from dataclasses import dataclass

from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Concat

from accounts.models import Patron
from fees import selectors as fees_selectors
from fees.models import EntryKind, JournalEntry, Owner, PaymentShare
from fees.selectors import fees_unpaid, open_fees_unpaid, unpaid_cents
from payments import rules
from payments.fee_lines import FeeLine, LineState, OwnerLines, fee_lines
from payments.models import (
    CREDIT_NOTE_KEY_PREFIX,
    OPEN_STATUSES,
    REFUND_RESERVING_STATUSES,
    EventKind,
    FeesRead,
    MoneyReport,
    OrderFee,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    Refund,
)


def paid_online(path: str = "") -> Q:
    """Money that came through an order (a provider's, or an external system's, report for
    the order), for the journal entry at `path` ("" or "credit__"): what the desk's "online
    today" and the accounting export both count as online."""
    return Q(**{f"{path}money_report__order__isnull": False})


def reserved_cents(*, patron: Patron) -> int:
    """What of the patron's fees their open orders already cover (not their service fees)."""
    total = PaymentOrder.objects.filter(patron=patron, status__in=OPEN_STATUSES).aggregate(
        total=Sum(F("amount_cents") - F("service_fee_cents"))
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
    for it (and what of it waits for staff), what went back to the card, and after an
    underpayment what arrived and what is still to pay."""
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
        "refunds": refunds_to_card(order=order),
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


def refunds_to_card(*, order: PaymentOrder) -> list[Refund]:
    """What of the order's money went back (or is on its way back) to the card it came
    from, oldest first."""
    return list(
        order.refunds.filter(status__in=REFUND_RESERVING_STATUSES)
        .select_related("entry")
        .order_by("created_at", "id")
    )


def recent_entries(*, patron: Patron) -> list[JournalEntry]:
    """The account's latest payments and credits (`fees.selectors.recent_entries`), each
    refund to the card once: the credit note that gives up what it pays back is part of
    it, not a second line. A refund to the card has `to_card`: its Refund."""
    credit_notes_of_refunds = (
        Refund.objects.filter(order__patron=patron)
        .annotate(key=Concat(Value(CREDIT_NOTE_KEY_PREFIX), Cast("pk", CharField())))
        .values("key")
    )
    entries = list(
        fees_selectors.recent_entries(
            patron=patron, leaving_out=Q(booking_key__in=credit_notes_of_refunds)
        )
    )
    refunds = [entry.pk for entry in entries if entry.kind == EntryKind.REFUND]
    to_card = {refund.entry_id: refund for refund in Refund.objects.filter(entry_id__in=refunds)}
    for entry in entries:
        entry.to_card = to_card.get(entry.pk)
    return entries


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
    # The most a patron may pay online: the balance less what open orders cover.
    payable_cents: int
    open_fees: list[JournalEntry]  # the open debits, each with `unpaid_cents`
    groups: list[OwnerLines]  # the same, one line per fee, by owner
    accruing_fines: list[fees_selectors.AccruingFine]
    recent_entries: list[JournalEntry]
    open_orders: list[PaymentOrder]

    @property
    def lines(self) -> list[FeeLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def payable_now_cents(self) -> int:
        """What the patron can select and pay online now: one payment per owner, together
        no more than the balance allows."""
        return min(self.payable_cents, sum(group.payable_now_cents for group in self.groups))

    @property
    def no_selection_fits(self) -> bool:
        return any(group.no_selection_fits for group in self.groups)

    @property
    def desk_cents(self) -> int:
        return sum(group.unpaid_of(LineState.DESK) for group in self.groups)

    @property
    def being_checked_cents(self) -> int:
        return sum(group.unpaid_of(LineState.BEING_CHECKED) for group in self.groups)

    @property
    def in_progress_cents(self) -> int:
        return sum(order.fees_cents for order in self.open_orders)

    @property
    def unassigned_credit_cents(self) -> int:
        """Credit not given to any fee yet (a credit note, a payment for no fee): the next
        settlement sets it against the fees, and until then it lowers the balance only."""
        return max(0, sum(line.unpaid_cents for line in self.lines) - self.balance_cents)

    @property
    def grouped(self) -> bool:
        """Fees of more than one owner: each owner's are a group, paid on their own."""
        return len(self.groups) > 1

    def select(self, fee_ids) -> set[int]:
        """Tick the selectable lines these ids name, each owner's total in its group's
        `selected_cents`; the ids of the fees ticked."""
        ticked = set()
        for group in self.groups:
            lines = group.selected_lines(fee_ids)
            group.selected_cents = sum(line.unpaid_cents for line in lines)
            ticked |= {line.fee.pk for line in lines}
        return ticked


def account_overview(*, patron: Patron, on_date: datetime.date) -> AccountOverview:
    """Everything the account page shows, in a fixed number of queries.

    Each open debit says what is still unpaid of it (`unpaid_cents`) and which open order
    holds it (`holding_order_id`); each fee's line (`lines`) says what of the fee is
    still to pay, and why it can or cannot be paid now.
    """
    open_orders = list(patron_orders(patron=patron).filter(status__in=OPEN_STATUSES))
    orders_by_id = {order.pk: order for order in open_orders}
    balance, credit = fees_selectors.balance_and_credit_cents(patron=patron)
    debits = fees_unpaid(
        patron.pk,
        open_fees_unpaid(patron.pk).annotate(
            holding_order_id=fees_selectors.journal_subquery(
                f"SELECT held.order_id FROM {OrderFee._meta.db_table} held"
                " WHERE held.fee_id = {journal}.id AND held.reserved"
            ),
            money_awaiting=Exists(
                OrderFee.objects.filter(
                    fee=OuterRef("pk"), order__in=_orders_with_money_awaiting(patron=patron)
                )
            ),
        ),
    )
    fees = {debit.pk: debit for debit in debits}
    # A fee charged back after the settlement offset it is closed; its reversal is open.
    closed = {debit.fee_group_id for debit in debits} - fees.keys()
    if closed:
        fees.update(JournalEntry.objects.in_bulk(closed))
    lines = fee_lines(debits, fees)
    default_owner = Owner.objects.default()
    owners = {owner.pk: owner for owner in Owner.objects.all()}
    # Only a fee with nothing left to pay is covered by payments: no query when there is
    # none (one at most, whatever the number of fees).
    paid = [debit.pk for line in lines if line.unpaid_cents == 0 for debit in line.debits]
    covering = unsettled_payments_by_fee(fee_ids=paid)
    kinds = rules.fee_kinds(fee.fee_type for fee in fees.values())
    fees_selectors.name_fee_types(list(fees.values()), kinds)
    for order in open_orders:
        order.held_fees = []
    for line in lines:
        holding = {debit.holding_order_id for debit in line.debits} - {None}
        line.reserved = bool(holding)
        line.open_order = next((orders_by_id[i] for i in holding if i in orders_by_id), None)
        line.money_awaiting = any(debit.money_awaiting for debit in line.debits)
        line.payable_online = all(
            rules.payable_online(entry, kinds) for entry in (line.fee, *line.debits)
        )
        line.paid_by = list(
            {
                payment.pk: payment for d in line.debits for payment in covering.get(d.pk, [])
            }.values()
        )
        if line.open_order is not None:
            line.open_order.held_fees.append(line.fee)
    payable = fees_selectors.payable_cents(
        patron=patron, balance=balance, reserved_cents=sum(o.fees_cents for o in open_orders)
    )
    by_owner: dict[int, list[FeeLine]] = {}
    for line in lines:
        by_owner.setdefault(line.fee.owner_id or default_owner.pk, []).append(line)
    return AccountOverview(
        balance_cents=balance,
        credit_cents=credit,
        payable_cents=payable,
        open_fees=debits,
        groups=[
            OwnerLines(owner=owners[owner_id], lines=owner_lines, balance_room_cents=payable)
            for owner_id, owner_lines in sorted(
                by_owner.items(), key=lambda item: (not owners[item[0]].is_default, item[0])
            )
        ],
        accruing_fines=fees_selectors.accruing_fines(patron=patron, on_date=on_date),
        recent_entries=recent_entries(patron=patron),
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

    unresolved = Q(flag_resolved_at__isnull=True)
    return {
        "underpaid": Q(status=S.UNDERPAID) & unresolved & Exists(_fees_still_owed()),
        "chargeback": Q(status=S.CHARGEBACK) & unresolved,
        "paid_after_cancel": money_held(Hold.AFTER_CANCELLATION),
        "paid_twice": money_held(Hold.FURTHER_PAYMENT, Hold.FEES_IN_ANOTHER_ORDER),
        "wrong_currency": money_held(Hold.WRONG_CURRENCY),
        # Paid here and in the library system: staff refund the patron (or leave the credit).
        "paid_there_too": Exists(
            PaymentEvent.objects.filter(order=OuterRef("pk"), kind=EventKind.PAID_THERE_TOO)
        )
        & ~Exists(Refund.objects.filter(order=OuterRef("pk"))),
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


def fees_read_failing() -> QuerySet[FeesRead]:
    """Patrons whose last read from the library system failed: their fees here may be out
    of date, and they cannot pay until a read succeeds."""
    return FeesRead.objects.failing()
