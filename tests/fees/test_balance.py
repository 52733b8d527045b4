"""Balance, open fees, credit and the amount payable for each case of the specification."""

import datetime

import pytest
from django.utils import timezone

from fees import selectors, services
from fees.settlement import settlement_run
from tests.factories import FeeFactory, LoanFactory, PatronFactory, PaymentFactory

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def open_amounts(patron):
    return [fee.open_cents for fee in selectors.open_fees(patron=patron)]


def settle_today():
    return settlement_run(business_date=timezone.localdate())


def test_open_fees_only_balance_is_their_sum():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=250, business_date=YESTERDAY)
    FeeFactory(patron=patron, amount_cents=2500, business_date=YESTERDAY)

    assert selectors.balance_cents(patron=patron) == 2750
    assert open_amounts(patron) == [250, 2500]
    assert selectors.payable_cents(patron=patron) == 2750


def test_open_fees_only_are_unchanged_by_settlement():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=250, business_date=YESTERDAY)

    settle_today()

    assert selectors.balance_cents(patron=patron) == 250
    assert open_amounts(patron) == [250]


def test_counter_payment_today_lowers_balance_while_the_fee_stays_open():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=500, business_date=YESTERDAY)
    FeeFactory(patron=patron, amount_cents=1200, business_date=YESTERDAY)

    services.payment_book(patron=patron, amount_cents=1200, method="cash")

    assert selectors.balance_cents(patron=patron) == 500
    assert open_amounts(patron) == [500, 1200]
    assert selectors.payable_cents(patron=patron) == 500


def test_counter_payment_offsets_the_oldest_fee_after_settlement():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=500, business_date=YESTERDAY)
    FeeFactory(patron=patron, amount_cents=1200, business_date=YESTERDAY)
    services.payment_book(patron=patron, amount_cents=1200, method="cash")

    settle_today()

    assert selectors.balance_cents(patron=patron) == 500
    assert open_amounts(patron) == [500]
    assert selectors.payable_cents(patron=patron) == 500


def test_payable_subtracts_amounts_reserved_by_open_orders():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=1000)

    assert selectors.payable_cents(patron=patron, reserved_cents=400) == 600
    assert selectors.payable_cents(patron=patron, reserved_cents=1500) == 0


def test_overpayment_leaves_credit_after_settlement():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=1500, business_date=YESTERDAY)
    services.payment_book(patron=patron, amount_cents=2000, method="cash")

    assert selectors.patron_credit_cents(patron=patron) == 0  # not settled yet
    settle_today()

    assert selectors.balance_cents(patron=patron) == -500
    assert selectors.patron_credit_cents(patron=patron) == 500
    assert open_amounts(patron) == []
    assert selectors.payable_cents(patron=patron) == 0


def test_nothing_owed_means_nothing_payable():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=400, business_date=YESTERDAY)
    PaymentFactory(patron=patron, amount_cents=-400, business_date=YESTERDAY)
    settle_today()

    assert selectors.balance_cents(patron=patron) == 0
    assert open_amounts(patron) == []
    assert selectors.payable_cents(patron=patron) == 0


def test_accruing_fines_grow_daily_up_to_the_cap():
    patron = PatronFactory()
    today = timezone.localdate()
    LoanFactory(patron=patron, due_date=today - datetime.timedelta(days=3), daily_fine_cents=50)
    LoanFactory(
        patron=patron,
        due_date=today - datetime.timedelta(days=40),
        daily_fine_cents=50,
        fine_cap_cents=1000,
    )

    fines = selectors.accruing_fines(patron=patron, on_date=today)

    assert [fine.fine_cents for fine in fines] == [1000, 150]


def test_accruing_fines_are_not_in_the_balance():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=200)
    LoanFactory(patron=patron, due_date=timezone.localdate() - datetime.timedelta(days=10))

    assert selectors.balance_cents(patron=patron) == 200
    assert selectors.payable_cents(patron=patron) == 200


def test_loan_not_yet_overdue_accrues_nothing():
    patron = PatronFactory()
    today = timezone.localdate()
    LoanFactory(patron=patron, due_date=today)

    assert selectors.accruing_fines(patron=patron, on_date=today) == []


def test_balances_are_per_patron():
    patron, other = PatronFactory(), PatronFactory()
    FeeFactory(patron=patron, amount_cents=300)
    FeeFactory(patron=other, amount_cents=900)

    assert selectors.balance_cents(patron=patron) == 300
    assert open_amounts(patron) == [300]
