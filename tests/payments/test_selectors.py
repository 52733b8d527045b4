"""The fees open orders reserve (payments.selectors.reserved_fee_ids): the settlement
leaves them to those orders."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from fees import selectors as fees_selectors
from fees import services as ledger_services
from fees.settlement import settlement_run
from payments import services
from payments.models import EventSource, OrderStatus
from tests.factories import FeeFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


def open_cents(fee):
    found = fees_selectors.open_fees(patron=fee.patron).filter(pk=fee.pk).first()
    return found.open_cents if found else 0


def test_a_counter_payment_offsets_fees_not_held_by_an_open_order(patron):
    held = FeeFactory(patron=patron, amount_cents=500, business_date=YESTERDAY)
    free = FeeFactory(patron=patron, amount_cents=500, business_date=YESTERDAY)
    order = services.order_create(patron=patron, fee_ids=[held.pk])
    ledger_services.payment_book(patron=patron, amount_cents=500, method="cash")

    settlement_run(business_date=TODAY)

    assert open_cents(held) == 500
    assert open_cents(free) == 0
    services.payment_order_transition(order=order, status=OrderStatus.PAID, source="provider")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        settlement_run(business_date=timezone.localdate())
    assert open_cents(held) == 0
    assert fees_selectors.patron_credit_cents(patron=patron) == 0


def test_credit_waits_while_only_held_fees_are_open_and_is_used_once_the_order_ends(patron):
    held = FeeFactory(patron=patron, amount_cents=500, business_date=YESTERDAY)
    order = services.order_create(patron=patron, fee_ids=[held.pk])
    ledger_services.payment_book(patron=patron, amount_cents=500, method="cash")

    settlement_run(business_date=TODAY)
    assert open_cents(held) == 500
    assert fees_selectors.patron_credit_cents(patron=patron) == 500

    services.payment_order_transition(
        order=order, status=OrderStatus.FAILED, source=EventSource.PROVIDER
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        settlement_run(business_date=timezone.localdate())

    assert open_cents(held) == 0
    assert fees_selectors.patron_credit_cents(patron=patron) == 0
