"""Bookings for the delivery tests, and looking at what became of their deliveries."""

import datetime

import time_machine
from django.utils import timezone

from fees import services as ledger
from fees.models import Delivery
from tests.factories import FeeFactory, PatronFactory


def book_payments(count, amount_cents=500):
    """Payments for one fee from the library system; the fee."""
    patron = PatronFactory(external_id="4711")
    fee = FeeFactory(patron=patron, amount_cents=amount_cents * count, external_id="K-1")
    for _ in range(count):
        ledger.payment_book(patron=patron, amount_cents=amount_cents, method="cash")
    return fee


def book_payment_and_its_chargeback():
    """The reversal's delivery."""
    book_payments(1)
    payment = Delivery.objects.get().entry
    (reversal,) = ledger.reversal_book(payment=payment, note="Chargeback")
    return reversal.delivery


def statuses():
    return list(Delivery.objects.order_by("pk").values_list("status", flat=True))


def later(minutes):
    return time_machine.travel(timezone.now() + datetime.timedelta(minutes=minutes))
