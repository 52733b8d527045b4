"""Cancel, complete and book, book a late payment or close it unbooked, ask the provider again."""

import datetime
import uuid

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import EventSource, OrderStatus, SimulatedCheckout
from staffdesk.models import StaffAction
from tests.factories import PatronFactory
from tests.staffdesk.conftest import make_order, order_action

pytestmark = pytest.mark.django_db


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def test_confirmation_page_asks_for_a_reason(desk_client, order):
    page = desk_client.get(reverse("staffdesk:order_action", args=[order.reference, "cancel"]))

    assert 'name="reason"' in page.content.decode()
    assert 'name="submission"' in page.content.decode()


def test_cancel_sets_cancelled_by_bib_with_the_staff_id_and_books_nothing(
    desk_client, staff, order
):
    response = order_action(desk_client, order, "cancel", reason="Test payment")

    assert response.url == reverse("staffdesk:order", args=[order.reference])
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED_BY_BIB
    event = order.events.last()
    assert (event.source, event.staff_user, event.note) == (
        EventSource.STAFF,
        staff,
        "Test payment",
    )
    assert not payments().exists()
    assert not order.order_fees.filter(reserved=True).exists()


def test_cancel_expires_the_checkout_at_the_provider(
    desk_client, order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order_action(desk_client, order, "cancel")

    checkout = SimulatedCheckout.objects.get(transaction_id=order.provider_transaction_id)
    assert checkout.outcome == SimulatedCheckout.Outcome.EXPIRED


def test_cancel_without_a_reason_does_nothing(desk_client, order):
    response = order_action(desk_client, order, "cancel", reason="")

    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert not StaffAction.objects.exists()


def test_cancel_is_refused_once_paid(desk_client, order):
    services.payment_order_transition(order=order, status="Paid", source=EventSource.PROVIDER)

    order_action(desk_client, order, "cancel")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not StaffAction.objects.exists()
    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
    assert "Only orders still Created or Created at provider can be cancelled." in page


def test_complete_is_refused_at_8_days_23_hours_and_says_from_when(desk_client, staff):
    order = make_order()
    with time_machine.travel(order.created_at + datetime.timedelta(days=8, hours=23)):
        desk_client.force_login(staff)  # the session from nine days ago has expired
        page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
        order_action(desk_client, order, "complete")

    assert "Can be completed from" in page
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert not payments().exists()


def test_complete_at_9_days_books_a_paid_event_and_payment_with_the_staff_id(desk_client, staff):
    order = make_order(amount_cents=700)
    with time_machine.travel(order.created_at + datetime.timedelta(days=9)):
        desk_client.force_login(staff)
        order_action(desk_client, order, "complete", reason="Paid per provider portal")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    event = order.events.last()
    assert (event.status, event.source, event.staff_user) == ("Paid", "staff", staff)
    assert (order.payment_entry.amount_cents, order.payment_entry.booked_by) == (-700, staff)
    action = StaffAction.objects.get()
    assert (action.kind, action.journal_entry, action.reason) == (
        "complete_order", order.payment_entry, "Paid per provider portal",
    )  # fmt: skip


def test_provider_paid_after_completion_books_nothing_more(desk_client):
    order = make_order(days_old=10)
    order_action(desk_client, order, "complete")

    services.payment_order_transition(
        order=order, status="Paid", source=EventSource.PROVIDER, provider_event_id="evt_late"
    )

    assert payments().count() == 1


def test_complete_is_refused_after_a_paid_message(desk_client):
    order = make_order(days_old=10)
    services.payment_order_transition(order=order, status="Paid", source=EventSource.PROVIDER)

    order_action(desk_client, order, "complete")

    assert payments().count() == 1
    assert not StaffAction.objects.exists()


def test_failed_order_can_be_completed_when_old_enough(desk_client):
    order = make_order(days_old=9)
    services.payment_order_transition(order=order, status="Failed", source=EventSource.PROVIDER)

    order_action(desk_client, order, "complete")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.payment_entry is not None


def paid_after_cancel(desk_client, amount_cents=500):
    order = make_order(amount_cents=amount_cents)
    order_action(desk_client, order, "cancel")
    services.payment_order_transition(
        order=order, status="Paid", source=EventSource.PROVIDER, amount_cents=amount_cents
    )
    order.refresh_from_db()
    return order


def test_late_payment_after_cancel_is_booked_by_staff_once(desk_client, staff):
    order = paid_after_cancel(desk_client)
    assert order.money_reports.awaiting_staff().exists() and not payments().exists()

    order_action(desk_client, order, "book-late", reason="Confirmed at the provider")
    order_action(desk_client, order, "book-late", reason="again")

    order.refresh_from_db()
    assert order.payment_entry.booked_by == staff
    assert payments().count() == 1
    assert not order.money_reports.awaiting_staff().exists()


def test_book_late_is_refused_for_an_ordinary_order(desk_client, order):
    order_action(desk_client, order, "book-late")

    assert not payments().exists()


def test_ask_the_provider_again_records_what_it_says(desk_client, order):
    checkout = SimulatedCheckout.objects.get(transaction_id=order.provider_transaction_id)
    from payments.providers import get_provider

    get_provider("simulated").act(checkout, "pay")  # paid, but the callback never came

    order_action(desk_client, order, "requery", reason="")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert StaffAction.objects.get().kind == "requery"


@pytest.mark.parametrize("action", ["cancel", "complete"])
def test_double_submit_has_one_effect(desk_client, action):
    order = make_order(days_old=10)
    token = uuid.uuid4()

    first = order_action(desk_client, order, action, submission=token)
    second = order_action(desk_client, order, action, submission=token)

    assert first.status_code == second.status_code == 302
    assert StaffAction.objects.count() == 1
    assert order.events.filter(source="staff").count() == 1
    assert payments().count() == (1 if action == "complete" else 0)


@pytest.mark.parametrize("action", ["cancel", "complete", "book-late", "requery"])
def test_every_action_needs_the_csrf_token(staff, action):
    order = make_order(days_old=10)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    assert order_action(client, order, action).status_code == 403
    assert not StaffAction.objects.exists()


def test_order_detail_shows_everything_staff_need(desk_client, staff):
    order = make_order(days_old=10, patron=PatronFactory(last_name="Lind", first_name="Ida"))
    order_action(desk_client, order, "complete", reason="Bank statement")
    order.refresh_from_db()

    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()

    for expected in (
        order.reference, "desk7", order.patron.user_number, order.patron.card_number,
        "Lind, Ida", "5.00 EUR", "Bank statement", "Created at provider",
        f"journal entry {order.payment_entry_id}", "Unknown", "Test",
    ):  # fmt: skip
        assert expected in page, expected
    assert page.count('<tr><td data-label="Time">') >= 3  # Created, Created at provider, Paid


def test_a_further_payment_for_a_paid_order_is_booked_by_staff_as_a_plain_payment(
    desk_client, staff
):
    order = make_order(amount_cents=500)
    services.payment_order_transition(order=order, status="Paid", source=EventSource.PROVIDER)
    services.payment_order_transition(
        order=order, status="Paid", source=EventSource.API, amount_cents=500,
        payment_method="campus card",
    )  # fmt: skip
    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
    assert "A further payment of 5.00 EUR was reported" in page

    order_action(desk_client, order, "book-late", reason="Patron paid twice; refund at the desk")

    order.refresh_from_db()
    assert not order.money_reports.awaiting_staff().exists()
    assert payments().count() == 2
    assert payments().exclude(pk=order.payment_entry_id).get().booked_by == staff


@pytest.mark.parametrize(
    "path", ["/desk/orders/%00/", "/desk/orders/%00/cancel/", "/desk/orders/EP-%00/requery/"]
)
def test_nul_in_an_order_reference_at_the_desk_is_not_found(desk_client, order, path):
    assert desk_client.get(path).status_code == 404


# Money received for an order: book it, or close it unbooked.


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


def test_the_order_page_lists_each_report_of_money_and_what_became_of_it(desk_client):
    order = paid_after_cancel_and_again(desk_client)

    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()

    assert page.count("waits for staff") == 2
    assert "5.00 EUR" in page and "2.00 EUR" in page


def test_staff_choose_which_money_to_book(desk_client, staff):
    order = paid_after_cancel_and_again(desk_client)
    later = order.money_reports.get(amount_cents=200)

    order_action(desk_client, order, "book-late", money=later.pk)

    later.refresh_from_db()
    assert later.entry.amount_cents == -200 and later.entry.booked_by == staff
    assert StaffAction.objects.filter(kind=StaffAction.Kind.BOOK_LATE_PAYMENT).get().journal_entry
    assert order.money_reports.awaiting_staff().get().amount_cents == 500


def test_staff_close_money_without_booking_and_it_is_audited(desk_client):
    order = paid_after_cancel_and_again(desk_client)

    order_action(desk_client, order, "close-money", reason="refunded at the provider")

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

    response = order_action(viewer, order, "close-money")

    assert response.status_code == 403
