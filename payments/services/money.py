"""Money received: each report of money is one MoneyReport row, booked at most once.

`money_book` is the one place that turns a report into a journal payment: the
transition calls it for money it may book at once, staff for money held for them,
the API for payments made straight to a patron. The journal's unique booking key
("money:<id>") lets the database refuse a second booking of the same report.
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, Value
from django.utils import timezone

from accounts.models import Patron
from fees import services as ledger
from fees.models import EntryKind, JournalEntry, service_fee_kind
from payments.labels import online_method
from payments.models import (
    UNKNOWN_METHOD,
    ApiClient,
    EventSource,
    MoneyReport,
    OrderFee,
    PaymentOrder,
)
from payments.receipts import send_receipt
from payments.services.outcomes import Outcome, TransitionResult


def _origin_q(*, provider: str = "", api_client=None, external_id: str = "") -> Q | None:
    """This money from this origin; None when the origin gives it no id."""
    if api_client is not None:
        return Q(api_client=api_client, external_id=external_id)
    if provider and external_id:
        return Q(provider=provider, external_id=external_id)
    return None


def money_report_find(*, provider: str = "", api_client=None, external_id: str = ""):
    """The report of this money from this origin, if it was reported before."""
    same_money = _origin_q(provider=provider, api_client=api_client, external_id=external_id)
    return MoneyReport.objects.filter(same_money).first() if same_money else None


def money_reports_of(
    order: PaymentOrder, *, provider: str = "", api_client=None, external_id: str = ""
) -> list[MoneyReport]:
    """The order's reports of money and an earlier report of this money (perhaps through
    another order), oldest first, in one read; `same_money` marks the latter."""
    same_money = _origin_q(provider=provider, api_client=api_client, external_id=external_id)
    wanted = Q(order=order) | same_money if same_money else Q(order=order)
    marked = ExpressionWrapper(same_money, BooleanField()) if same_money else Value(False)
    return list(MoneyReport.objects.filter(wanted).annotate(same_money=marked).order_by("pk"))


def money_report_create(**fields) -> MoneyReport | None:
    """Record a report; None when its origin and id were recorded already (even concurrently)."""
    try:
        with transaction.atomic():
            return MoneyReport.objects.create(**fields)
    except IntegrityError:
        return None


def _other_orders_with(order: PaymentOrder):
    return OrderFee.objects.filter(
        fee__in=order.order_fees.values("fee_id"), order__patron_id=order.patron_id
    ).exclude(order=order)


def _paid_since(order: PaymentOrder) -> Q:
    """Another order's payment booked after this order was made, which its amount could not
    allow for. One booked before is no conflict: an order made after an underpayment asks
    only for what that payment left unpaid."""
    return Q(order__payment_entry__booked_at__gte=order.created_at)


def fees_in_another_order(order: PaymentOrder) -> bool:
    """Is one of the order's fees being paid, or paid, through another order?"""
    held = MoneyReport.objects.awaiting_staff().values("order_id")
    return (
        _other_orders_with(order)
        .filter(Q(reserved=True) | _paid_since(order) | Q(order_id__in=held))
        .exists()
    )


def _fees_collected_elsewhere(order: PaymentOrder) -> bool:
    return _other_orders_with(order).filter(_paid_since(order)).exists()


def money_book(
    *,
    report: MoneyReport,
    patron: Patron,
    staff_user=None,
    note: str = "",
    for_fees: Iterable[JournalEntry] | None = None,
    tell_library_system: bool = True,
    collected_elsewhere: bool | None = None,
) -> JournalEntry:
    """Book a report as a journal payment. The caller holds the patron's (and order's) lock.

    The first money booked for an order is its assigned payment and pays its fees, unless
    another order collected one of them (`collected_elsewhere`, looked up unless the
    caller knows it); other money is a plain payment, which becomes the patron's credit.
    """
    order = report.order
    if order is not None and collected_elsewhere is None:
        collected_elsewhere = _fees_collected_elsewhere(order)
    assigns = order is not None and order.payment_entry_id is None and not collected_elsewhere
    if for_fees is None:
        for_fees = order.fees.all() if assigns else ()
    if assigns and order.service_fee_cents and order.paid_in_full_by(report.amount_cents):
        for_fees = [*for_fees, _service_fee_book(order, patron)]
    method = report.payment_method if report.payment_method != UNKNOWN_METHOD else ""
    if order is not None:
        method = online_method(report.payment_method)
    entry = ledger.payment_book(
        patron=patron,
        amount_cents=report.amount_cents,
        currency=report.currency,
        for_fees=for_fees,
        method=method,
        reference=order.reference if order is not None else report.external_id,
        booked_by=staff_user,
        note=note.strip(),
        booking_key=f"money:{report.pk}",
        tell_library_system=tell_library_system,
        patron_locked=True,
        owner=order.owner if order is not None else None,
    )
    report.entry = entry
    report.save(update_fields=["entry"])
    if assigns:
        order.payment_entry = entry
        order.save(update_fields=["payment_entry"])
        if patron.email:
            transaction.on_commit(lambda: send_receipt(order_id=order.pk))
    return entry


def _service_fee_book(order: PaymentOrder, patron: Patron) -> JournalEntry:
    """The owner's service fee for the order, a fee of its own that its payment pays. It
    is booked only once the order is paid in full: an underpayment pays fees alone."""
    return ledger.entry_book(
        patron=patron,
        kind=EntryKind.FEE,
        amount_cents=order.service_fee_cents,
        currency=order.currency,
        fee_type=service_fee_kind().code,
        owner=order.payee,
        description=order.reference,
        booking_key=f"service-fee:{order.pk}",
    )


def money_close(*, report: MoneyReport, staff_user=None, reason: str) -> None:
    """Close a report without booking it (refunded at the provider, charged back, ...)."""
    report.closed_at = timezone.now()
    report.closed_by = staff_user
    report.close_reason = reason.strip()
    report.save(update_fields=["closed_at", "closed_by", "close_reason"])


def money_receive_for_patron(
    *,
    patron: Patron,
    amount_cents: int,
    currency: str,
    api_client: ApiClient,
    external_id: str,
    method: str = "",
    for_fees: Iterable[JournalEntry] = (),
    note: str = "",
    tell_library_system: bool = True,
) -> TransitionResult:
    """A payment an external system took for a patron, not for one of our orders.

    The library system is not told of a payment it reported itself."""
    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)
        report = money_report_create(
            patron=patron,
            amount_cents=amount_cents,
            currency=currency,
            source=EventSource.API,
            api_client=api_client,
            external_id=external_id,
            payment_method=method or UNKNOWN_METHOD,
        )
        if report is None:
            earlier = money_report_find(api_client=api_client, external_id=external_id)
            return TransitionResult(order=earlier.order, outcome=Outcome.REPEAT, money=earlier)
        entry = money_book(
            report=report, patron=patron, for_fees=for_fees, note=note,
            tell_library_system=tell_library_system,
        )  # fmt: skip
        return TransitionResult(order=None, outcome=Outcome.BOOKED, booked=entry, money=report)
