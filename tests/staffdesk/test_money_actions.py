"""The desk's actions on money received for an order: book it, or close it unbooked."""

import uuid

import pytest
from django.urls import reverse

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import EventSource, OrderStatus
from staffdesk.models import StaffAction
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db


def paid_after_cancel_and_again(desk_client):
    order = make_order(amount_cents=500)
    desk_client.post(
        reverse("staffdesk:order_action", args=[order.reference, "cancel"]),
        {"reason": "asked", "submission": str(uuid.uuid4())},
    )
    for source, amount in ((EventSource.PROVIDER, 500), (EventSource.API, 200)):
        services.payment_order_transition(
            order=order, status=OrderStatus.PAID, source=source, amount_cents=amount
        )
    return order


def act(client, order, action, **data):
    url = reverse("staffdesk:order_action", args=[order.reference, action])
    return client.post(url, {"reason": "checked", "submission": str(uuid.uuid4())} | data)


def test_the_order_page_lists_each_report_of_money_and_what_became_of_it(desk_client):
    order = paid_after_cancel_and_again(desk_client)

    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()

    assert page.count("waits for staff") == 2
    assert "5.00 EUR" in page and "2.00 EUR" in page


def test_staff_choose_which_money_to_book(desk_client, staff):
    order = paid_after_cancel_and_again(desk_client)
    later = order.money_reports.get(amount_cents=200)

    act(desk_client, order, "book-late", money=later.pk)

    later.refresh_from_db()
    assert later.entry.amount_cents == -200 and later.entry.booked_by == staff
    assert StaffAction.objects.filter(kind=StaffAction.Kind.BOOK_LATE_PAYMENT).get().journal_entry
    assert order.money_reports.awaiting_staff().get().amount_cents == 500


def test_staff_close_money_without_booking_and_it_is_audited(desk_client):
    order = paid_after_cancel_and_again(desk_client)

    act(desk_client, order, "close-money", reason="refunded at the provider")

    assert order.money_reports.awaiting_staff().count() == 1
    assert not JournalEntry.objects.filter(kind=EntryKind.PAYMENT).exists()
    action = StaffAction.objects.get(kind=StaffAction.Kind.CLOSE_MONEY)
    assert action.reason == "refunded at the provider"


def test_the_orders_list_marks_orders_with_money_waiting(desk_client):
    order = paid_after_cancel_and_again(desk_client)

    page = desk_client.get(reverse("staffdesk:orders"), {"attention": "on"}).content.decode()

    assert order.reference in page and "book manually" in page


def test_the_desk_counts_money_waiting_for_staff_by_reason(desk_client):
    paid_after_cancel_and_again(desk_client)

    page = desk_client.get(reverse("staffdesk:home")).content.decode()

    assert 'id="count-paid-after-cancel">1<' in page
    assert 'id="count-paid-twice">1<' in page


def test_a_viewer_cannot_close_money(viewer):
    order = make_order()

    response = act(viewer, order, "close-money")

    assert response.status_code == 403
