"""The worker against a library system that misbehaves: every failure is a counted attempt
of that one delivery, and a delivery being sent holds no transaction, only a lease."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from fees import services as ledger
from fees.models import Delivery
from payments.library_systems.deliveries import (
    Outcome,
    deliveries_send_due,
    delivery_claim,
    delivery_record,
    delivery_resolve_by_hand,
    delivery_send_next,
    retry_wait,
)
from payments.library_systems.feed import money_movements
from payments.library_systems.webhook import WebhookTarget
from tests.factories import PatronFactory
from tests.library_systems.delivery_helpers import (
    book_payment_and_its_chargeback,
    book_payments,
    later,
    statuses,
)
from tests.library_systems.faulty_server import FaultyReceiver
from tests.library_systems.receiver import SECRET

pytestmark = pytest.mark.django_db

Status = Delivery.Status
LEASE_MINUTES = 5  # DELIVERY_LEASE_SECONDS' default


@pytest.fixture
def receiver():
    with FaultyReceiver() as receiver:
        yield receiver


@pytest.fixture
def target(receiver):
    return WebhookTarget(url=receiver.url, secret=SECRET, timeout=0.5)


class Meanwhile:
    """The target, doing `meanwhile(movement)` while the delivery is being sent."""

    def __init__(self, target, meanwhile):
        self.name = target.name
        self.target = target
        self.meanwhile = meanwhile

    def deliver(self, movement):
        self.meanwhile(movement)
        return self.target.deliver(movement)


class BreaksOn:
    """The target, failing with a fault of the portal's own on the first delivery."""

    def __init__(self, target):
        self.name = target.name
        self.target = target
        self.broken_key = Delivery.objects.order_by("pk").first().key

    def deliver(self, movement):
        if movement.key == self.broken_key:
            raise RuntimeError("the adapter has a bug")
        return self.target.deliver(movement)


def test_an_answer_cut_off_mid_body_is_a_counted_attempt_retried_later(receiver, target):
    book_payments(1)
    receiver.faults = ["cut_off"]

    first = delivery_send_next(target=target)
    with later(1):
        second = delivery_send_next(target=target)

    assert first.status == Status.RETRYING and "ChunkedEncodingError" in first.last_error
    assert second.status == Status.DELIVERED and second.attempts == 2
    assert receiver.accepted == [second.key] and receiver.tries[second.key] == 2


def test_a_delivery_whose_answer_is_cut_off_does_not_hold_back_those_behind_it(receiver, target):
    book_payments(3)
    receiver.faults = ["broken_chunks"]

    outcomes = deliveries_send_due(target=target)

    assert outcomes == {Status.RETRYING: 1, Status.DELIVERED: 2}
    assert statuses() == [Status.RETRYING, Status.DELIVERED, Status.DELIVERED]


def test_an_error_in_the_adapter_is_a_counted_attempt_and_the_worker_goes_on(target):
    book_payments(3)

    outcomes = deliveries_send_due(target=BreaksOn(target))

    broken = Delivery.objects.order_by("pk").first()
    assert outcomes == {Status.RETRYING: 1, Status.DELIVERED: 2}
    assert broken.status == Status.RETRYING and broken.attempts == 1
    assert "RuntimeError: the adapter has a bug" in broken.last_error
    assert broken.next_attempt_at > timezone.now()  # behind the others, with the usual wait


def test_a_redirect_is_refused_for_staff_with_its_location(receiver, target):
    book_payments(1)
    receiver.faults = ["302"]

    delivery = delivery_send_next(target=target)

    assert delivery.status == Status.FAILED and f"{receiver.base}/moved" in delivery.last_error
    assert receiver.strays == [] and receiver.accepted == []


def test_the_first_retry_wait_is_a_setting(settings):
    settings.DELIVERY_FIRST_RETRY_SECONDS = 0.05

    assert datetime.timedelta(seconds=0.05) <= retry_wait(1) <= datetime.timedelta(seconds=0.06)
    assert retry_wait(3) >= datetime.timedelta(seconds=0.2)


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_a_delivery_is_sent(target):
    book_payments(1)
    seen = []

    def look(movement):
        seen.append((connection.in_atomic_block, connection.get_autocommit()))

    delivery_send_next(target=Meanwhile(target, look))

    assert seen == [(False, True)]
    assert statuses() == [Status.DELIVERED]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_booking_made_while_a_delivery_is_sent_is_in_the_feed_at_once(target):
    book_payments(1)
    cursor = money_movements().next_cursor
    late_patron = PatronFactory()
    fed = []

    def book_and_read_the_feed(movement):
        def elsewhere():  # another request of the portal, on a connection of its own
            try:
                ledger.payment_book(patron=late_patron, amount_cents=100, method="cash")
                fed.extend(m.patron_user_number for m in money_movements(cursor=cursor).movements)
            finally:
                connection.close()

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join(10)

    delivery_send_next(target=Meanwhile(target, book_and_read_the_feed))

    assert fed == [late_patron.user_number]


def test_another_worker_leaves_a_delivery_being_sent_alone(target):
    book_payments(2)
    sent_meanwhile = []

    def another_worker(movement):
        if not sent_meanwhile:
            sent_meanwhile.append(delivery_send_next(target=target))
            sent_meanwhile.append(delivery_send_next(target=target))

    first = delivery_send_next(target=Meanwhile(target, another_worker))

    other, nothing = sent_meanwhile
    assert other.pk != first.pk and other.status == Status.DELIVERED and nothing is None
    assert first.status == Status.DELIVERED and first.attempts == 1


def test_a_chargeback_waits_while_its_payment_is_being_sent(receiver, target):
    reversal = book_payment_and_its_chargeback()
    sent_meanwhile = []

    def another_worker(movement):
        sent_meanwhile.append(delivery_send_next(target=target))

    payment = delivery_send_next(target=Meanwhile(target, another_worker))

    assert sent_meanwhile == [None] and payment.status == Status.DELIVERED
    assert delivery_send_next(target=target) == reversal
    assert receiver.accepted == [payment.key, reversal.key]


def test_a_delivery_whose_worker_died_mid_send_is_sent_again_after_its_lease(receiver, target):
    book_payments(1)
    claimed = delivery_claim(target=target)  # ... and the worker's machine goes down

    assert delivery_send_next(target=target) is None
    with later(LEASE_MINUTES - 1):
        assert delivery_send_next(target=target) is None
    with later(LEASE_MINUTES + 1):
        sent = delivery_send_next(target=target)

    assert sent == claimed and sent.status == Status.DELIVERED and sent.attempts == 2
    assert receiver.accepted == [claimed.key]


def test_an_attempt_that_outlasted_its_lease_does_not_overwrite_the_next(target):
    book_payments(1)
    slow = delivery_claim(target=target)
    with later(LEASE_MINUTES + 1):
        delivered = delivery_send_next(target=target)

    recorded = delivery_record(delivery=slow, outcome=Outcome(Status.RETRYING, error="Timeout"))

    assert delivered.status == Status.DELIVERED
    assert recorded.status == Status.DELIVERED and recorded.last_error == ""
    assert statuses() == [Status.DELIVERED]


def test_a_delivery_being_sent_cannot_be_resolved_by_hand(target):
    book_payments(1)
    refusals = []

    def staff_resolve(movement):
        delivery = Delivery.objects.get(key=movement.key)
        try:
            delivery_resolve_by_hand(delivery=delivery, note="Entered by hand")
        except ValueError as error:
            refusals.append(str(error))

    delivery = delivery_send_next(target=Meanwhile(target, staff_resolve))

    assert len(refusals) == 1 and "being sent right now" in refusals[0]
    assert delivery.status == Status.DELIVERED
