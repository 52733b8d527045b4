"""The account's open fees as the patron reads them: one line per fee, what of it is still
to pay, and what can be paid online now (payments.fee_lines)."""

import pytest
from django.utils import timezone

from fees import services as ledger_services
from fees.models import Owner
from fees.settlement import settlement_run
from payments import selectors
from payments.fee_lines import largest_total_within
from tests.factories import FeeFactory, OwnerFactory
from tests.payments.helpers import choose, start_payment

pytestmark = pytest.mark.django_db


def overview(patron):
    return selectors.account_overview(patron=patron, on_date=timezone.localdate())


def line_of(account, fee):
    (line,) = [line for line in account.lines if line.fee.pk == fee.pk]
    return line


@pytest.fixture
def charged_back(patron_client, fees):
    """The 5.00 and 3.00 fees paid in one online payment today, which the bank took back."""
    checkout_url = start_payment(patron_client, fees[0], fees[2]).url
    choose(patron_client, checkout_url, "pay")
    choose(patron_client, checkout_url, "chargeback")


def test_payable_now_leaves_out_a_fee_paid_at_the_desk(patron, desk_fee):
    FeeFactory(patron=patron, amount_cents=450)

    account = overview(patron)

    assert (account.payable_now_cents, account.desk_cents) == (450, 500)


def test_nothing_is_payable_now_when_every_fee_is_paid_at_the_desk(patron, desk_fee):
    assert overview(patron).payable_now_cents == 0


def test_payable_now_is_the_largest_selection_the_balance_allows(patron, fees):
    # 20.00 in fees less a 12.00 credit: 8.00 fits, as 5.00 + 3.00.
    ledger_services.credit_note_book(patron=patron, amount_cents=1200, note="Goodwill")

    account = overview(patron)

    assert (account.payable_now_cents, account.unassigned_credit_cents) == (800, 1200)
    assert not account.no_selection_fits


def test_no_selection_fits_when_every_fee_is_more_than_the_balance(patron):
    FeeFactory(patron=patron, amount_cents=800)
    ledger_services.credit_note_book(patron=patron, amount_cents=500, note="Goodwill")

    account = overview(patron)

    assert account.payable_now_cents == 0
    assert account.no_selection_fits


def test_payable_now_is_nothing_below_the_online_minimum(settings, patron):
    settings.ONLINE_MINIMUM_CENTS = 500
    FeeFactory(patron=patron, amount_cents=300)

    assert overview(patron).payable_now_cents == 0


def test_payments_in_progress_are_not_payable_now(patron_client, patron, fees):
    start_payment(patron_client, fees[1])

    account = overview(patron)

    assert (account.payable_now_cents, account.in_progress_cents) == (800, 1200)


@pytest.mark.parametrize(
    ("amounts", "room", "largest"),
    [
        ((500, 1200, 300), 2000, 2000),
        ((500, 1200, 300), 800, 800),
        ((500, 1200, 300), 1000, 800),
        ((800,), 300, 0),
        ((), 500, 0),
    ],
)
def test_largest_total_within_the_room(amounts, room, largest):
    assert largest_total_within(amounts, room) == largest


def test_a_charged_back_fee_is_one_line_owed_again(patron, fees, charged_back):
    account = overview(patron)

    line = line_of(account, fees[0])
    assert (line.unpaid_cents, line.state, line.selectable) == (500, "owed_again", True)
    assert [fee.pk for fee in (line.fee for line in account.lines)] == [f.pk for f in fees]


def test_a_charged_back_fee_names_the_payment_taken_back(patron, fees, charged_back):
    line = line_of(overview(patron), fees[2])

    assert [reversal.target.reference for reversal in line.charged_back] == [
        fees[2].patron.payment_orders.get().reference
    ]


def test_a_fee_charged_back_after_the_settlement_is_still_its_own_line(patron, fees):
    payment = ledger_services.payment_book(patron=patron, amount_cents=500, for_fees=[fees[0]])
    settlement_run(business_date=timezone.localdate())
    ledger_services.reversal_book(payment=payment)

    line = line_of(overview(patron), fees[0])

    assert (line.fee.description, line.unpaid_cents, line.state) == (
        "Overdue fine",
        500,
        "owed_again",
    )


def test_two_fees_paid_by_one_payment_read_the_same(patron_client, patron, fees):
    choose(patron_client, start_payment(patron_client, fees[0], fees[2]).url, "pay")

    account = overview(patron)

    assert [line_of(account, fee).state for fee in (fees[0], fees[2])] == ["paid", "paid"]
    assert line_of(account, fees[0]).paid_by == line_of(account, fees[2]).paid_by


def test_a_partly_paid_fee_shows_what_is_still_to_pay(patron, fees):
    ledger_services.payment_book(patron=patron, amount_cents=700, for_fees=[fees[1]])

    line = line_of(overview(patron), fees[1])

    assert (line.unpaid_cents, line.open_cents, line.state) == (500, 1200, "partly_paid")


def test_fees_are_grouped_by_owner_the_default_owner_first(patron, fees):
    branch = OwnerFactory()
    FeeFactory(patron=patron, amount_cents=700, owner=branch)

    account = overview(patron)

    assert [(group.owner, group.unpaid_cents) for group in account.groups] == [
        (Owner.objects.default(), 2000),
        (branch, 700),
    ]


def test_each_owners_minimum_applies_to_its_own_fees(patron, fees):
    branch = OwnerFactory(online_minimum_cents=1000)
    FeeFactory(patron=patron, amount_cents=700, owner=branch)

    default_group, branch_group = overview(patron).groups

    assert (default_group.payable_now_cents, branch_group.payable_now_cents) == (2000, 0)
    assert branch_group.below_minimum
