"""Money that arrives off the expected path: each report is one record, booked once,
never in a wrong currency, and nothing is collected twice."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.labels import event_text
from payments.models import EventSource, MoneyReport, OrderStatus
from payments.services.money import money_book
from tests.factories import DeskStaffFactory

pytestmark = pytest.mark.django_db

Hold = MoneyReport.Hold


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def cancelled_order(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    services.order_cancel(order=order, staff_user=DeskStaffFactory(), reason="patron asked")
    return order


def provider_says(order, status, amount_cents=None, currency="", **fields):
    return services.payment_order_transition(
        order=order, status=status, source=EventSource.PROVIDER,
        amount_cents=amount_cents, currency=currency, **fields,
    )  # fmt: skip


def test_underpaid_after_a_cancel_can_be_booked_by_staff(patron, fees):
    order = cancelled_order(patron, fees)
    provider_says(order, OrderStatus.UNDERPAID, amount_cents=300)
    order.refresh_from_db()
    assert services.book_late_availability(order).allowed

    entry = services.order_book_late_payment(order=order, staff_user=DeskStaffFactory())

    assert entry.amount_cents == -300
    assert not order.money_reports.awaiting_staff().exists()


def test_book_late_books_each_report_of_money_once_with_its_own_amount(patron, fees):
    order = cancelled_order(patron, fees)
    provider_says(order, OrderStatus.PAID, amount_cents=500)
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.API, amount_cents=200
    )
    staff = DeskStaffFactory()

    booked = []
    while services.book_late_availability(order).allowed:
        booked.append(services.order_book_late_payment(order=order, staff_user=staff).amount_cents)

    assert booked == [-500, -200]
    assert payments().count() == 2


def test_a_report_of_money_cannot_be_booked_twice_even_past_the_checks(patron, fees):
    order = cancelled_order(patron, fees)
    report = provider_says(order, OrderStatus.PAID, amount_cents=500).money
    money_book(report=report, patron=patron)

    report.entry = None  # as a second booking racing the first would see it
    with pytest.raises(IntegrityError):
        money_book(report=report, patron=patron)


def test_booking_writes_an_event_with_the_staff_member(patron, fees):
    order = cancelled_order(patron, fees)
    provider_says(order, OrderStatus.PAID, amount_cents=500)
    staff = DeskStaffFactory()

    services.order_book_late_payment(order=order, staff_user=staff, reason="checked")

    event = order.events.last()
    assert event.staff_user == staff and event.amount_cents == 500
    assert event_text(event).startswith("Booked 5.00 EUR received on ")
    assert event.note == "checked"


def test_a_further_payment_in_another_currency_keeps_its_currency_and_is_never_booked(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    provider_says(order, OrderStatus.PAID, amount_cents=500)
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.API,
        amount_cents=900, currency="USD",
    )  # fmt: skip
    order.refresh_from_db()

    held = order.money_reports.awaiting_staff().get()
    assert (held.amount_cents, held.currency, held.hold) == (900, "USD", Hold.WRONG_CURRENCY)
    assert not services.book_late_availability(order).allowed
    assert "USD" in services.book_late_availability(order).reason
    with pytest.raises(services.ActionRefused):
        services.order_book_late_payment(order=order, staff_user=DeskStaffFactory())
    assert payments().count() == 1


def test_a_first_payment_in_another_currency_is_held_and_the_order_flagged(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])

    result = provider_says(order, OrderStatus.PAID, amount_cents=500, currency="USD")

    assert result.outcome == services.Outcome.RECORDED
    assert result.order.status == OrderStatus.UNDERPAID
    assert result.money.currency == "USD" and result.money.hold == Hold.WRONG_CURRENCY
    assert not payments().exists()


def test_staff_close_money_held_for_them_without_booking(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    provider_says(order, OrderStatus.PAID, amount_cents=500, currency="USD")
    staff = DeskStaffFactory()

    report = services.order_close_money(
        order=order, staff_user=staff, reason="Refunded in the provider's dashboard"
    )

    report.refresh_from_db()
    assert report.closed_by == staff and report.entry is None
    assert not order.money_reports.awaiting_staff().exists()
    assert "Refunded" in order.events.last().note


def test_the_database_refuses_to_book_money_in_another_currency(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    report = provider_says(order, OrderStatus.PAID, amount_cents=500, currency="USD").money
    entry = JournalEntry.objects.create(
        patron=patron, kind=EntryKind.PAYMENT, amount_cents=-500, currency="EUR",
        business_date=report.received_at.date(),
    )  # fmt: skip

    report.entry = entry
    with pytest.raises(IntegrityError):
        report.save()


def test_fees_whose_money_waits_for_staff_cannot_be_put_in_a_new_order(patron, fees):
    order = cancelled_order(patron, fees)
    provider_says(order, OrderStatus.PAID, amount_cents=500)

    with pytest.raises(ValidationError) as error:
        services.order_create(patron=patron, fee_ids=[fees[0].pk])

    assert error.value.code == "money_awaiting"


def test_the_account_page_says_why_a_fee_with_money_waiting_cannot_be_selected(
    patron, fees, patron_client
):
    order = cancelled_order(patron, fees)
    provider_says(order, OrderStatus.PAID, amount_cents=500)

    page = patron_client.get(reverse("payments:account")).content.decode()

    assert f'value="{fees[0].pk}"' not in page
    assert f'value="{fees[1].pk}"' in page
    assert "being checked by the library" in page


def test_fees_are_free_again_once_the_held_money_is_closed(patron, fees):
    order = cancelled_order(patron, fees)
    provider_says(order, OrderStatus.PAID, amount_cents=500)
    services.order_close_money(order=order, staff_user=DeskStaffFactory(), reason="refunded")

    again = services.order_create(patron=patron, fee_ids=[fees[0].pk])

    assert again.amount_cents == 500


def test_late_money_for_a_failed_order_whose_fees_another_order_paid_is_held(patron, fees):
    first = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    provider_says(first, OrderStatus.FAILED)
    second = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    provider_says(second, OrderStatus.PAID)

    late = provider_says(first, OrderStatus.PAID, transaction_id="sim_late")

    assert late.outcome == services.Outcome.RECORDED
    assert late.money.hold == Hold.FEES_IN_ANOTHER_ORDER
    assert payments().count() == 1


def test_staff_book_such_money_as_credit_not_for_the_fees_again(patron, fees):
    first = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    provider_says(first, OrderStatus.FAILED)
    second = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    provider_says(second, OrderStatus.PAID)
    provider_says(first, OrderStatus.PAID, transaction_id="sim_late")

    entry = services.order_book_late_payment(order=first, staff_user=DeskStaffFactory())

    first.refresh_from_db()
    assert first.payment_entry is None and not entry.for_fees.exists()
