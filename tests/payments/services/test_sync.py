"""The return page, the reconcile job, late Paid after a cancel, and the receipt e-mail."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import EventSource, MoneyReport, OrderStatus, PaymentOrder
from tests.factories import DeskStaffFactory, FeeFactory, OwnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_order(patron_client, fees, fake_stripe):
    patron_client.post(reverse("payments:pay"), {"fee": [fees[0].pk]})
    return PaymentOrder.objects.get()


def order_url(order):
    return reverse("payments:order", args=[order.reference])


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def started_order(patron, fee):
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    order.refresh_from_db()
    return order


def reconcile(*args):
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def test_return_page_of_an_unpaid_session_books_nothing(patron_client, stripe_order):
    page = patron_client.get(order_url(stripe_order)).content.decode()

    assert "still being processed" in page
    assert "order_status.js" in page  # it looks again by itself
    assert not payments().exists()


def test_forged_session_id_on_the_return_url_books_nothing(
    patron_client, stripe_order, fake_stripe
):
    paid_elsewhere = fake_stripe.add_session(client_reference_id="EP-ZZZZ-ZZZZ")
    fake_stripe.complete(paid_elsewhere["id"])

    url = order_url(stripe_order) + f"?session_id={paid_elsewhere['id']}"
    page = patron_client.get(url).content.decode()

    assert "still being processed" in page
    assert not payments().exists()
    stripe_order.refresh_from_db()
    assert stripe_order.status == OrderStatus.CREATED_AT_PROVIDER


def test_return_page_records_a_payment_the_provider_confirms(
    patron_client, stripe_order, fake_stripe
):
    fake_stripe.complete(fake_stripe.session_for(stripe_order.reference)["id"])

    page = patron_client.get(order_url(stripe_order)).content.decode()

    assert "your payment has been received" in page
    assert "order_status.js" not in page
    stripe_order.refresh_from_db()
    assert stripe_order.payment_entry.amount_cents == -500
    assert stripe_order.payment_method == "card"  # read from the expanded PaymentIntent


def test_return_page_copes_with_the_provider_being_down(patron_client, stripe_order, fake_stripe):
    fake_stripe.failure = "500"

    response = patron_client.get(order_url(stripe_order))

    assert response.status_code == 200
    assert "still being processed" in response.content.decode()


def test_reconcile_records_paid_and_expired_sessions_and_lists_the_rest(patron, fees, fake_stripe):
    orders = [started_order(patron, fee) for fee in fees]
    paid, expired, still_open = orders
    fake_stripe.complete(paid.provider_transaction_id)
    fake_stripe.sessions[expired.provider_transaction_id]["status"] = "expired"

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20)):
        output = reconcile()

    for order in orders:
        order.refresh_from_db()
    assert (paid.status, expired.status, still_open.status) == (
        OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CREATED_AT_PROVIDER
    )  # fmt: skip
    assert payments().count() == 1
    assert paid.events.last().source == EventSource.PROVIDER
    assert "2 resolved, 1 unresolved" in output
    assert still_open.reference in output and paid.reference not in output


def test_reconcile_leaves_young_orders_alone(patron, fees, fake_stripe):
    order = started_order(patron, fees[0])
    fake_stripe.complete(order.provider_transaction_id)

    output = reconcile()

    assert "Checked 0 open orders" in output
    assert not payments().exists()


def test_reconcile_twice_books_once(patron, fees, fake_stripe):
    order = started_order(patron, fees[0])
    fake_stripe.complete(order.provider_transaction_id)

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20)):
        reconcile()
        reconcile()

    assert payments().count() == 1


def test_reconcile_lists_orders_when_the_provider_is_down(patron, fees, fake_stripe):
    order = started_order(patron, fees[0])
    fake_stripe.failure = "500"

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20)):
        output = reconcile()

    assert f"{order.reference}" in output and "provider not reachable" in output


def test_reconcile_fails_an_order_that_never_reached_the_provider(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=31)):
        reconcile()

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.events.last().source == EventSource.SYSTEM


def test_simulated_checkout_left_open_expires_through_reconcile(patron_client, fees):
    checkout_url = patron_client.post(reverse("payments:pay"), {"fee": [fees[0].pk]}).url
    patron_client.post(checkout_url, {"action": "abandon"})

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=31)):
        reconcile()

    assert PaymentOrder.objects.get().status == OrderStatus.FAILED


def test_paid_after_cancelled_by_the_library_books_nothing_and_is_flagged(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    services.payment_order_transition(
        order=order,
        status=OrderStatus.CANCELLED_BY_BIB,
        source=EventSource.STAFF,
        staff_user=DeskStaffFactory(),
    )

    result = services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER, amount_cents=500
    )

    assert result.outcome == services.Outcome.RECORDED and result.booked is None
    assert result.order.status == OrderStatus.PAID
    assert result.money.hold == MoneyReport.Hold.AFTER_CANCELLATION and result.money.awaits_staff
    assert not payments().exists()
    assert list(result.order.events.values_list("status", flat=True)) == [
        "Created", "CancelledByBib", "Paid",
    ]  # fmt: skip


def test_status_column_always_equals_the_latest_event(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    for status in ("CreatedAtProvider", "Failed", "Paid", "Paid", "Created", "Cancelation"):
        services.payment_order_transition(order=order, status=status, source=EventSource.PROVIDER)
        order.refresh_from_db()
        assert order.status == order.events.last().status


def test_receipt_mail_is_sent_only_after_the_booking_commits(
    patron, fees, django_capture_on_commit_callbacks
):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.payment_order_transition(
            order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
        )
    assert mail.outbox == []
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    assert "5.00 EUR" in mail.outbox[0].body


def test_no_receipt_mail_without_an_address(patron, fees, django_capture_on_commit_callbacks):
    patron.email = ""
    patron.save()
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_order_transition(
            order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
        )

    assert mail.outbox == []


def test_provider_repeating_its_paid_is_one_payment(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    for event_id in ("evt_completed", "evt_async_succeeded"):
        services.payment_order_transition(
            order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER,
            provider_event_id=event_id,
        )  # fmt: skip

    assert not MoneyReport.objects.awaiting_staff().exists()
    assert payments().count() == 1


def test_provider_paid_after_a_kiosk_paid_is_a_second_payment_flagged_for_staff(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    services.payment_order_transition(order=order, status="Paid", source=EventSource.API)

    result = services.payment_order_transition(
        order=order, status="Paid", source=EventSource.PROVIDER, amount_cents=500
    )

    assert result.outcome == services.Outcome.RECORDED and result.booked is None
    assert result.money.hold == MoneyReport.Hold.FURTHER_PAYMENT
    assert result.money.amount_cents == 500
    assert payments().count() == 1


def test_provider_paid_after_staff_completion_books_and_flags_nothing(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    services.payment_order_transition(order=order, status="Paid", source=EventSource.STAFF)

    services.payment_order_transition(order=order, status="Paid", source=EventSource.PROVIDER)

    assert not MoneyReport.objects.awaiting_staff().exists()
    assert payments().count() == 1


def test_the_receipt_mail_comes_from_the_orders_owner_with_its_footer(
    patron, django_capture_on_commit_callbacks
):
    north = OwnerFactory(
        name_en="North Branch", email_sender="north@library.example", receipt_footer="Nordstr. 1"
    )
    fee = FeeFactory(patron=patron, amount_cents=400, owner=north)
    order = services.order_create(patron=patron, fee_ids=[fee.pk])

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_order_transition(
            order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
        )

    (sent,) = mail.outbox
    assert sent.from_email == "north@library.example"
    assert sent.subject.startswith("North Branch:")
    assert sent.body.rstrip().endswith("North Branch\nNordstr. 1")
