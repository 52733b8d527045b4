"""The desk's actions: the table, the one path each goes through, and that path under races
with the provider's Paid and with itself, on real threads."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from fees.models import JournalEntry
from payments import services
from payments.models import EventSource, OrderStatus
from staffdesk.actions import perform
from staffdesk.models import StaffAction
from tests.factories import DeskStaffFactory
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def race(*works):
    barrier = threading.Barrier(len(works))

    def run(work):
        try:
            barrier.wait()
            return work()
        except ValidationError as refused:
            return refused
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(works)) as pool:
        return list(pool.map(run, works))


def provider_paid(order):
    return lambda: services.payment_order_transition(
        order=order, status="Paid", source=EventSource.PROVIDER, provider_event_id=f"evt_{order.pk}"
    )


def staff_does(kind, order, staff):
    return lambda: perform(kind, order, staff_user=staff, reason="race")


def test_complete_racing_a_provider_paid_books_exactly_once():
    staff = DeskStaffFactory()
    for _ in range(10):
        order = make_order(days_old=10)

        race(staff_does(StaffAction.Kind.COMPLETE_ORDER, order, staff), provider_paid(order))

        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert JournalEntry.objects.filter(reference=order.reference).count() == 1


def test_cancel_racing_a_provider_paid_ends_as_the_spec_says():
    staff = DeskStaffFactory()
    for _ in range(10):
        order = make_order()

        cancel, _ = race(
            staff_does(StaffAction.Kind.CANCEL_ORDER, order, staff), provider_paid(order)
        )

        order.refresh_from_db()
        booked = JournalEntry.objects.filter(reference=order.reference).count()
        assert order.status == OrderStatus.PAID
        if isinstance(cancel, ValidationError):  # Paid came first: an ordinary payment
            assert booked == 1 and not order.money_reports.awaiting_staff().exists()
        else:  # the cancel came first: recorded, not booked, flagged for manual booking
            assert booked == 0 and order.money_reports.awaiting_staff().exists()
            assert list(order.events.values_list("status", flat=True))[-2:] == [
                "CancelledByBib", "Paid",
            ]  # fmt: skip


def test_a_counter_booking_submitted_twice_at_once_books_once():
    import uuid

    from tests.factories import PatronFactory

    staff, patron, token = DeskStaffFactory(), PatronFactory(), uuid.uuid4()

    def book():
        return perform(
            StaffAction.Kind.CREDIT_NOTE, patron, amount_cents=500,
            staff_user=staff, note="Goodwill", submission=token,
        )  # fmt: skip

    first, second = race(book, book)

    assert first.pk == second.pk
    assert JournalEntry.objects.filter(patron=patron).count() == 1


def test_a_cancel_submitted_twice_at_once_acts_once():
    import uuid

    staff, order, token = DeskStaffFactory(), make_order(), uuid.uuid4()

    def cancel():
        return perform(
            StaffAction.Kind.CANCEL_ORDER, order, staff_user=staff,
            reason="twice", submission=token,
        )  # fmt: skip

    first, second = race(cancel, cancel)

    assert first.pk == second.pk
    assert order.events.filter(status="CancelledByBib").count() == 1


def test_two_staff_booking_the_same_held_money_at_once_book_it_once():
    first, second = DeskStaffFactory(), DeskStaffFactory()
    for _ in range(5):
        order = make_order()
        services.order_cancel(order=order, staff_user=first, reason="asked")
        provider_paid(order)()
        held = order.money_reports.get()

        def book(staff, order=order, held=held):
            return lambda: services.order_book_late_payment(
                order=order, staff_user=staff, money_id=held.pk
            )

        race(book(first), book(second))

        held.refresh_from_db()
        assert held.entry is not None
        assert JournalEntry.objects.filter(reference=order.reference).count() == 1
