"""Every money movement records what it pays per fee and a delivery, in its own transaction."""

import pytest
from django.db import transaction

from fees import services
from fees.models import Delivery, EntryKind, PaymentShare
from payments import services as orders
from tests.factories import FeeFactory

pytestmark = pytest.mark.django_db


def shares_of(entry):
    return [(s.fee_id, s.amount_cents) for s in PaymentShare.objects.filter(movement=entry)]


def test_a_payment_pays_the_fees_it_names_first_then_the_oldest_and_the_rest_is_credit(patron):
    oldest = FeeFactory(patron=patron, amount_cents=300)
    named = FeeFactory(patron=patron, amount_cents=500)

    payment = services.payment_book(
        patron=patron, amount_cents=1000, for_fees=[named], method="cash"
    )

    assert shares_of(payment) == [(named.pk, 500), (oldest.pk, 300), (None, 200)]


def test_a_payment_records_a_delivery_with_a_key_of_its_own(patron):
    FeeFactory(patron=patron)

    payment = services.payment_book(patron=patron, amount_cents=500, method="cash")

    delivery = Delivery.objects.get(entry=payment)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.key == f"epayment-{payment.pk}"


def test_the_delivery_is_written_in_the_bookings_transaction(patron):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.payment_book(patron=patron, amount_cents=500, method="cash")
        raise RuntimeError("the booking fails after all")

    assert not Delivery.objects.exists() and not PaymentShare.objects.exists()


def test_money_already_planned_for_a_fee_is_not_planned_twice(patron):
    fee = FeeFactory(patron=patron, amount_cents=500)
    other = FeeFactory(patron=patron, amount_cents=500)
    services.payment_book(patron=patron, amount_cents=300, method="cash")

    second = services.payment_book(patron=patron, amount_cents=500, for_fees=[fee], method="card")

    assert shares_of(second) == [(fee.pk, 200), (other.pk, 300)]


def test_a_counter_payment_passes_over_fees_an_online_payment_is_paying(patron):
    held = FeeFactory(patron=patron, amount_cents=500)
    free = FeeFactory(patron=patron, amount_cents=500)
    orders.order_create(patron=patron, fee_ids=[held.pk])

    payment = services.payment_book(patron=patron, amount_cents=500, method="cash")

    assert shares_of(payment) == [(free.pk, 500)]


def test_a_reversal_reopens_what_its_payment_paid_one_fee_per_reversal(patron):
    fee = FeeFactory(patron=patron, amount_cents=500)
    payment = services.payment_book(patron=patron, amount_cents=700, method="card")

    for_fee, for_credit = services.reversal_book(payment=payment)

    assert {for_fee.kind, for_credit.kind} == {EntryKind.REVERSAL}
    assert shares_of(for_fee) == [(fee.pk, 500)]
    assert shares_of(for_credit) == [(None, 200)]
    assert Delivery.objects.filter(entry__in=[for_fee, for_credit]).count() == 2


def test_a_partial_reversal_reopens_the_fees_before_the_credit(patron):
    fee = FeeFactory(patron=patron, amount_cents=500)
    payment = services.payment_book(patron=patron, amount_cents=700, method="card")

    (reversal,) = services.reversal_book(payment=payment, amount_cents=300)

    assert shares_of(reversal) == [(fee.pk, 300)]


def test_a_second_reversal_reopens_what_the_first_left(patron):
    fee = FeeFactory(patron=patron, amount_cents=500)
    payment = services.payment_book(patron=patron, amount_cents=700, method="card")
    services.reversal_book(payment=payment, amount_cents=300)

    rest_of_fee, credit = services.reversal_book(payment=payment)

    assert shares_of(rest_of_fee) == [(fee.pk, 200)]
    assert shares_of(credit) == [(None, 200)]


def test_a_refund_is_for_no_fee(patron):
    services.payment_book(patron=patron, amount_cents=700, method="cash")

    refund = services.refund_book(patron=patron, amount_cents=200, method="cash")

    assert shares_of(refund) == [(None, 200)]


def test_a_payment_the_library_system_reported_itself_is_not_sent_back(patron):
    payment = services.payment_book(
        patron=patron, amount_cents=500, method="cash", tell_library_system=False
    )

    assert Delivery.objects.get(entry=payment).status == Delivery.Status.SKIPPED


def test_credit_notes_and_waivers_move_no_money_and_are_not_delivered(patron):
    fee = FeeFactory(patron=patron, amount_cents=500)
    services.credit_note_book(patron=patron, amount_cents=100, note="goodwill")
    services.waiver_book(fee=fee, note="found")

    assert not Delivery.objects.exists()


def test_a_payment_of_a_fees_increase_is_told_as_paying_that_fee(patron):
    from fees.corrections import fee_correct
    from payments.library_systems.feed import movements_for

    fee = services.fee_book(
        patron=patron, amount_cents=1000, description="Lost item",
        source_system="koha", external_id="L-1", external_type="LOST",
    )  # fmt: skip
    increase = fee_correct(fee=fee, amount_cents=1500, note="replacement").booked
    payment = services.payment_book(patron=patron, amount_cents=1500, for_fees=[fee, increase])

    (movement,) = movements_for([Delivery.objects.get(entry=payment)])

    assert [(s.fee_id, s.fee_type, s.amount_cents) for s in movement.shares] == [
        ("L-1", "LOST", 1000),
        ("L-1", "LOST", 500),
    ]
