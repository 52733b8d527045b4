"""Reads for the desk: order searches, the start page's figures, a patron's ledger, what a
refund can be paid from."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.cards import normalize_card_number
from accounts.models import Patron
from fees import selectors as fees_selectors
from fees.models import CREDIT_KINDS, Allocation, Delivery, EntryKind, JournalEntry
from payments import services as payment_services
from payments.models import MoneyReport, PaymentOrder, Refund, UnmatchedProviderReport
from payments.reference import normalize_reference
from payments.selectors import (
    fees_read_failing,
    needs_attention,
    needs_attention_q,
    paid_online,
)
from staffdesk.models import StaffAction


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def patrons_by_number(query: str) -> QuerySet[Patron]:
    """Patrons whose card or user number is `query`, however it was typed: card numbers
    are stored normalised (upper case, no spaces), user numbers as the library system
    sent them, and are compared in any case (served by an index on UPPER(user_number))."""
    query = query.strip()
    return Patron.objects.filter(
        Q(card_number=normalize_card_number(query)) | Q(user_number__iexact=query)
    )


def patron_by_number(query: str) -> Patron | None:
    """The patron a card or user number names. The number as typed wins over one that
    differs in case only, so each patron stays reachable if the library system has two
    such user numbers."""
    query = query.strip()
    card_number = normalize_card_number(query)
    found = sorted(
        patrons_by_number(query)[:10],
        key=lambda p: (p.card_number != card_number, p.user_number != query, p.user_number),
    )
    return found[0] if found else None


def order_search(
    *,
    query: str = "",
    status: str = "",
    mode: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    attention: bool = False,
    now: datetime.datetime | None = None,
) -> QuerySet[PaymentOrder]:
    """Orders newest first. `query` is a reference (whole or its start), card or user number.

    Each order says whether money received for it waits for staff (`money_awaiting`).
    """
    held = MoneyReport.objects.awaiting_staff().filter(order=OuterRef("pk"))
    orders = PaymentOrder.objects.select_related("patron").annotate(money_awaiting=Exists(held))
    if query := query.strip():
        # Patrons first, so that each side of the OR can use its own index.
        patron_ids = list(patrons_by_number(query).values_list("pk", flat=True)[:50])
        prefix = query.upper() if query.upper().startswith("EP") else f"EP-{query.upper()}"
        orders = orders.filter(
            Q(reference=normalize_reference(query))
            | Q(reference__startswith=prefix)
            | Q(patron_id__in=patron_ids)
        )
    if status:
        orders = orders.filter(status=status)
    if mode:
        orders = orders.filter(mode=mode)
    if date_from:
        orders = orders.filter(created_at__gte=_day_start(date_from))
    if date_to:
        orders = orders.filter(created_at__lt=_day_start(date_to + datetime.timedelta(days=1)))
    if attention:
        orders = orders.filter(needs_attention_q(now=now or timezone.now()))
    return orders.order_by("-created_at", "-id")


@dataclass(frozen=True)
class DeskFigures:
    attention: dict[str, int]
    online_today_count: int
    online_today_cents: int
    unmatched_reports: int
    deliveries: dict[str, int]
    fees_read_failing: int = 0  # patrons whose fees could not be read from the library system


def desk_figures(
    *,
    now: datetime.datetime | None = None,
    shown: Callable[[str], Q] = lambda path: Q(),
    everything: bool = True,
) -> DeskFigures:
    """The start page's figures, of the rows `shown` lets through (given the path to a
    row's owner: a desk user's owners'); reports that match no order (of no owner) only
    for a user of all owners."""
    now = now or timezone.now()
    counts = PaymentOrder.objects.filter(shown("owner")).aggregate(
        **{name: Count("pk", filter=q) for name, q in needs_attention(now=now).items()}
    )
    today = JournalEntry.objects.filter(
        shown("owner"), paid_online(), kind=EntryKind.PAYMENT, business_date=timezone.localdate(now)
    ).aggregate(count=Count("pk"), total=Sum("amount_cents"))
    return DeskFigures(
        attention=counts,
        online_today_count=today["count"],
        online_today_cents=-(today["total"] or 0),
        unmatched_reports=unmatched_provider_reports().count() if everything else 0,
        fees_read_failing=fees_read_failing().count(),
        deliveries=Delivery.objects.filter(shown("entry__owner")).aggregate(
            waiting=Count("pk", filter=Q(status__in=Delivery.DUE)),
            failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        ),
    )


def unmatched_provider_reports() -> QuerySet[UnmatchedProviderReport]:
    """Provider news about money that matches no order, not yet resolved by staff."""
    return UnmatchedProviderReport.objects.filter(resolved_at__isnull=True)


@dataclass
class PatronLedger:
    patron: Patron
    balance_cents: int
    credit_cents: int
    open_fees: list[JournalEntry]
    accruing_fines: list[fees_selectors.AccruingFine]
    entries: list[JournalEntry]
    orders: list[PaymentOrder]
    actions: list[StaffAction]


def patron_ledger(
    *,
    patron: Patron,
    on_date: datetime.date,
    limit: int = 200,
    entries_shown: Q | None = None,
    orders_shown: Q | None = None,
) -> PatronLedger:
    """The patron's journal (newest first, with what offset what), for the desk; only the
    entries and orders `entries_shown` and `orders_shown` let through (a desk user's
    owners'), and the balance and credit of those entries.

    Each entry says how far it is offset (`offset_state`) and what is left of it
    (`left_cents`): of a debit what is still owed, of a credit what is not used yet.
    """
    allocations = Allocation.objects.select_related("settlement")
    entries = list(
        JournalEntry.objects.filter(entries_shown or Q(), patron=patron)
        .select_related("booked_by", "settled_in", "cleared_in", "target", "delivery")
        .prefetch_related(
            Prefetch("allocations_received", queryset=allocations),
            Prefetch("allocations_given", queryset=allocations),
        )
        .order_by("-booked_at", "-id")[:limit]
    )
    for entry in entries:
        _mark_offset(entry)
    balance, credit = fees_selectors.balance_and_credit_cents(patron=patron, within=entries_shown)
    return PatronLedger(
        patron=patron,
        balance_cents=balance,
        credit_cents=credit,
        open_fees=fees_selectors.name_fee_types(
            list(fees_selectors.open_fees(patron=patron).filter(entries_shown or Q()))
        ),
        accruing_fines=fees_selectors.accruing_fines(patron=patron, on_date=on_date),
        entries=entries,
        orders=list(
            PaymentOrder.objects.filter(orders_shown or Q(), patron=patron).order_by("-created_at")[
                :50
            ]
        ),
        actions=list(
            StaffAction.objects.filter(patron=patron).select_related("staff_user", "order")[:50]
        ),
    )


class OffsetState:
    CLEARED = "cleared"  # offset in full
    PARTLY = "partly"  # some of it offset, the rest open
    OPEN = "open"  # nothing offset yet
    # A credit the daily settlement has not looked at yet: it may well pay fees tonight.
    WAITING = "waiting"


def _mark_offset(entry: JournalEntry) -> None:
    entry.is_credit = is_credit = entry.kind in CREDIT_KINDS
    allocated = entry.allocations_given.all() if is_credit else entry.allocations_received.all()
    offset_cents = sum(allocation.amount_cents for allocation in allocated)
    entry.left_cents = abs(entry.amount_cents) - offset_cents
    if entry.cleared_in_id is not None:
        entry.offset_state = OffsetState.CLEARED
    elif offset_cents:
        entry.offset_state = OffsetState.PARTLY
    elif is_credit and entry.settled_in_id is None:
        entry.offset_state = OffsetState.WAITING
    else:
        entry.offset_state = OffsetState.OPEN


def deliveries(*, status: str = "") -> QuerySet[Delivery]:
    """Deliveries to the library system, newest first; by default those not in it yet."""
    found = Delivery.objects.select_related("entry__patron")
    if status:
        return found.filter(status=status)
    return found.exclude(status__in=Delivery.ARRIVED)


def refund_sources(order: PaymentOrder) -> list[str]:
    """What a refund to the order's card can be paid from now, the one to offer first
    first: the patron's credit while there is some, part of the payment while any of it
    is left to refund."""
    sources = []
    if payment_services.refundable_credit_cents(order.patron) > 0:
        sources.append(Refund.Source.CREDIT)
    if payment_services.refundable_cents(order) > 0:
        sources.append(Refund.Source.PAYMENT)
    return sources


def later_orders_for_fees(order: PaymentOrder) -> QuerySet[PaymentOrder]:
    """The patron's orders made after this one for any of its fees (after an underpayment,
    the rest paid online), oldest first."""
    return (
        PaymentOrder.objects.filter(
            patron_id=order.patron_id,
            created_at__gte=order.created_at,
            order_fees__fee__in=order.order_fees.values("fee_id"),
        )
        .exclude(pk=order.pk)
        .distinct()
        .order_by("created_at", "id")
    )
