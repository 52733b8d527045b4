"""Deliveries reach the library system: at least once, each with its one key, retrying
what is transient, stopping for staff on a refusal."""

import datetime
import socket

import pytest
from django.utils import timezone

from fees import services as ledger
from fees.models import Delivery
from payments import services
from payments.library_systems import get_target
from payments.library_systems.deliveries import (
    deliveries_send_due,
    delivery_resolve_by_hand,
    delivery_retry_now,
    delivery_send_next,
)
from payments.library_systems.feed import movements_for
from payments.library_systems.webhook import WebhookTarget
from payments.models import EventKind, EventSource, OrderStatus
from tests.factories import FeeFactory, OwnerFactory, PatronFactory, WaitingRefundFactory
from tests.library_systems.delivery_helpers import (
    book_payment_and_its_chargeback,
    book_payments,
    later,
    statuses,
)
from tests.library_systems.receiver import SECRET, Receiver

pytestmark = pytest.mark.django_db

Status = Delivery.Status


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def target(receiver):
    return WebhookTarget(url=receiver.url, secret=SECRET, timeout=1)


def test_a_payment_arrives_with_its_key_shares_and_a_valid_signature(receiver, target):
    fee = book_payments(1)

    outcomes = deliveries_send_due(target=target)

    assert outcomes[Status.DELIVERED] == 1 and statuses() == [Status.DELIVERED]
    (movement,) = receiver.received
    assert movement["key"] == Delivery.objects.get().key
    assert movement["patron_external_id"] == "4711"
    assert movement["shares"] == [
        {"entry_id": fee.pk, "fee_id": "K-1", "fee_type": "", "amount_cents": 500}
    ]


def test_a_server_error_is_retried_later_with_a_growing_wait(receiver, target):
    book_payments(1)
    receiver.script = [500, 503]

    first = delivery_send_next(target=target)
    assert first.status == Status.RETRYING and "500" in first.last_error
    assert delivery_send_next(target=target) is None  # not due yet
    with later(1):
        second = delivery_send_next(target=target)
    assert second.status == Status.RETRYING
    assert second.next_attempt_at - second.last_attempt_at > (
        first.next_attempt_at - first.last_attempt_at
    )
    with later(10):
        assert delivery_send_next(target=target).status == Status.DELIVERED


def test_a_refusal_stops_and_waits_for_staff(receiver, target):
    book_payments(1)
    receiver.script = [422]

    delivery = delivery_send_next(target=target)

    assert delivery.status == Status.FAILED and "422" in delivery.last_error
    with later(60 * 24):
        assert delivery_send_next(target=target) is None


def test_sending_again_without_a_library_system_is_refused_and_changes_nothing(
    receiver, target, settings
):
    book_payments(1)
    receiver.script = [422]
    refused = delivery_send_next(target=target)
    settings.LIBRARY_SYSTEM_TARGET = ""

    with pytest.raises(ValueError, match="No library system is configured"):
        delivery_retry_now(delivery=refused)

    refused.refresh_from_db()
    assert (refused.status, refused.attempts) == (Status.FAILED, 1)


def test_a_chargeback_waits_while_its_payment_was_refused(receiver, target):
    reversal = book_payment_and_its_chargeback()
    receiver.script = [422]

    delivery_send_next(target=target)  # the payment: refused, waits for staff
    with later(60):
        after = delivery_send_next(target=target)

    reversal.refresh_from_db()
    assert after is None
    assert reversal.status == Status.PENDING and reversal.attempts == 0
    assert [m["kind"] for m in receiver.received] == []


def test_a_chargeback_follows_once_its_payment_is_resolved_by_hand(receiver, target):
    reversal = book_payment_and_its_chargeback()
    receiver.script = [422]
    payment = delivery_send_next(target=target)
    delivery_resolve_by_hand(delivery=payment, note="Entered in the library system")

    sent = delivery_send_next(target=target)

    assert sent == reversal and sent.status == Status.DELIVERED
    assert [m["kind"] for m in receiver.received] == ["reversal"]


def test_a_payment_the_library_system_reported_is_not_resolved_by_hand():
    patron = PatronFactory()
    payment = ledger.payment_book(
        patron=patron, amount_cents=500, method="cash", tell_library_system=False
    )

    with pytest.raises(ValueError, match="in the library system already"):
        delivery_resolve_by_hand(delivery=payment.delivery, note="Entered by hand")

    assert statuses() == [Status.SKIPPED]  # so it stays out of the feed as well


def test_a_chargeback_booked_with_its_payment_waiting_is_sent_after_it(receiver, target):
    book_payment_and_its_chargeback()
    Delivery.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(minutes=1))
    Delivery.objects.filter(entry__kind="reversal").update(
        next_attempt_at=timezone.now() - datetime.timedelta(minutes=2)
    )

    deliveries_send_due(target=target)

    assert [m["kind"] for m in receiver.received] == ["payment", "reversal"]


def test_a_timeout_is_retried(receiver):
    book_payments(1)
    receiver.hang_seconds = 1.0

    delivery = delivery_send_next(
        target=WebhookTarget(url=receiver.url, secret=SECRET, timeout=0.2)
    )

    assert delivery.status == Status.RETRYING and "Timeout" in delivery.last_error


def test_a_refused_connection_is_retried():
    book_payments(1)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    delivery = delivery_send_next(target=WebhookTarget(url=url, secret=SECRET, timeout=1))

    assert delivery.status == Status.RETRYING and "ConnectionError" in delivery.last_error


def test_while_the_library_system_is_down_nothing_is_lost_and_each_arrives_once(receiver, target):
    book_payments(5)
    receiver.script = [500] * 5

    deliveries_send_due(target=target)
    assert set(statuses()) == {Status.RETRYING} and receiver.received == []
    with later(5):
        deliveries_send_due(target=target)

    assert set(statuses()) == {Status.DELIVERED}
    assert sorted(receiver.by_key) == sorted(Delivery.objects.values_list("key", flat=True))
    assert len(receiver.received) == 5


def test_a_worker_that_dies_while_sending_loses_nothing(receiver, target):
    book_payments(2)

    class Dies:
        name = "webhook"

        def deliver(self, movement):
            raise KeyboardInterrupt  # the process is killed mid-send

    with pytest.raises(KeyboardInterrupt):
        deliveries_send_due(target=Dies())
    assert statuses() == [Status.PENDING, Status.PENDING]

    deliveries_send_due(target=target)
    assert statuses() == [Status.DELIVERED, Status.DELIVERED]


def test_a_movement_names_its_owner_and_the_default_owners_none():
    north = OwnerFactory(code="FPL")
    patron = PatronFactory(external_id="42")
    ledger.payment_book(patron=patron, amount_cents=300, method="cash", owner=north)
    ledger.payment_book(patron=patron, amount_cents=200, method="cash")

    movements = movements_for(list(Delivery.objects.order_by("pk")))

    assert [(m.amount_cents, m.owner_code) for m in movements] == [(300, "FPL"), (200, "")]


@pytest.fixture
def paid_with_a_service_fee():
    """A branch's 5.00 fee paid online with the branch's 0.50 service fee."""
    north = OwnerFactory(code="FPL", service_fee_cents=50)
    fee = FeeFactory(amount_cents=500, owner=north, external_id="koha-17")
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )
    order.refresh_from_db()
    return order


def test_the_library_system_hears_of_the_fees_a_payment_paid_not_of_its_service_fee(
    paid_with_a_service_fee,
):
    (movement,) = movements_for([paid_with_a_service_fee.payment_entry.delivery])

    assert movement.amount_cents == 500
    assert [(share.fee_id, share.amount_cents) for share in movement.shares] == [("koha-17", 500)]
    assert movement.unassigned_cents == 0


def test_a_chargeback_of_a_service_fee_is_not_sent_to_the_library_system(
    paid_with_a_service_fee,
):
    services.payment_order_transition(
        order=paid_with_a_service_fee, status=OrderStatus.CHARGEBACK, source=EventSource.PROVIDER
    )

    reversals = Delivery.objects.filter(entry__kind="reversal").order_by("entry__amount_cents")
    assert [(d.entry.amount_cents, d.status) for d in reversals] == [
        (50, Status.PORTAL_ONLY), (500, Status.PENDING),
    ]  # fmt: skip


# --- a fee paid in the library system while the patron paid online -----------------------


@pytest.fixture
def paid_online(koha, linked_patron):
    """The patron's 5.00 Koha fee, read and then paid online; its delivery not sent yet."""
    from payments.services.live_fees import fees_read

    koha.line = koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    fee = linked_patron.journal_entries.get(kind="fee")
    order = services.order_create(patron=linked_patron, fee_ids=[fee.pk])
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )
    order.refresh_from_db()
    return order


def koha_credits(koha):
    return [
        (body.get("account_lines_ids", []), round(body["amount"] * 100)) for body in koha.credits
    ]


def test_a_fee_paid_there_meanwhile_is_not_paid_twice_there(koha, paid_online):
    koha.set_outstanding(42, koha.line, 0)  # paid at the library's desk meanwhile

    deliveries_send_due(target=get_target())

    assert koha_credits(koha) == [([], 500)]  # the patron's credit in Koha, for no fee
    assert paid_online.events.filter(kind=EventKind.PAID_THERE_TOO).exists()


def test_a_fee_partly_paid_there_takes_the_rest_and_the_remainder_is_credit(koha, paid_online):
    koha.set_outstanding(42, koha.line, 200)

    deliveries_send_due(target=get_target())

    assert koha_credits(koha) == [([koha.line], 200), ([], 300)]
    event = paid_online.events.get(kind=EventKind.PAID_THERE_TOO)
    assert event.facts["amount_cents"] == 300


def test_a_fee_still_owed_there_is_paid_there_and_nothing_is_flagged(koha, paid_online):
    deliveries_send_due(target=get_target())

    assert koha_credits(koha) == [([koha.line], 500)]
    assert not paid_online.events.filter(kind=EventKind.PAID_THERE_TOO).exists()


def test_the_desk_sees_the_order_paid_here_and_there_until_it_is_refunded(koha, paid_online):
    from staffdesk.selectors import desk_figures

    koha.set_outstanding(42, koha.line, 0)
    deliveries_send_due(target=get_target())
    flagged = desk_figures().attention["paid_there_too"]
    WaitingRefundFactory(order=paid_online, amount_cents=500)

    assert (flagged, desk_figures().attention["paid_there_too"]) == (1, 0)
