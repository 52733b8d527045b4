"""Fees partly or wholly paid before the settlement offsets them: by an underpaid online
payment, or at the counter. The page says what is left, and only that can be paid."""

import re

import pytest
from django.urls import reverse

from fees import services as ledger_services
from payments.models import MoneyReport, OrderFee, OrderStatus, PaymentOrder, SimulatedCheckout
from tests.factories import FeeFactory
from tests.payments.helpers import choose, start_payment

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("payments:account")


@pytest.fixture
def underpaid(patron_client, fees):
    """The 12.00 fee paid online, but only 6.00 of it arrived."""
    choose(patron_client, start_payment(patron_client, fees[1]).url, "pay_less")
    return PaymentOrder.objects.get()


def test_the_order_page_says_how_much_of_an_underpaid_payment_arrived(patron_client, underpaid):
    page = patron_client.get(reverse("payments:order", args=[underpaid.reference])).content
    page = page.decode()

    assert "We received 6.00 EUR, less than the 12.00 EUR of this payment." in page
    assert "6.00 EUR of these fees is still to pay" in page


def test_the_order_page_lists_the_money_received(patron_client, underpaid):
    page = patron_client.get(reverse("payments:order", args=[underpaid.reference])).content
    page = page.decode()

    assert re.search(r"<dt>Received</dt><dd>6\.00 EUR on ", page)


def test_the_account_page_shows_what_is_left_of_an_underpaid_fee(patron_client, fees, underpaid):
    page = patron_client.get(ACCOUNT).content.decode()

    assert "6.00 EUR of 12.00 EUR still to pay" in page
    assert f'value="{fees[1].pk}"' in page


def test_the_rest_of_an_underpaid_fee_can_be_paid_at_once(patron_client, fees, underpaid):
    response = start_payment(patron_client, fees[1])

    assert response.status_code == 302
    rest = PaymentOrder.objects.exclude(pk=underpaid.pk).get()
    assert rest.amount_cents == 600
    assert OrderFee.objects.get(order=rest).amount_cents == 600
    assert SimulatedCheckout.objects.get(order_reference=rest.reference).amount_cents == 600


def test_the_rest_once_paid_is_booked_for_its_fee_and_gets_a_receipt(
    patron_client, fees, underpaid
):
    choose(patron_client, start_payment(patron_client, fees[1]).url, "pay")

    rest = PaymentOrder.objects.exclude(pk=underpaid.pk).get()
    assert rest.status == OrderStatus.PAID
    assert rest.payment_entry.amount_cents == -600
    assert list(rest.payment_entry.for_fees.all()) == [fees[1]]
    assert not MoneyReport.objects.awaiting_staff().exists()
    receipt = reverse("payments:receipt", args=[rest.reference])
    assert patron_client.get(receipt).status_code == 200


def test_a_fee_whose_rest_is_paid_is_not_payable_a_third_time(patron_client, fees, underpaid):
    choose(patron_client, start_payment(patron_client, fees[1]).url, "pay")

    response = start_payment(patron_client, fees[1])

    assert "paid already and is being processed" in response.content.decode()
    assert PaymentOrder.objects.count() == 2


def test_a_fee_covered_by_todays_counter_payment_has_no_checkbox(patron_client, patron, fees):
    ledger_services.payment_book(patron=patron, amount_cents=500, method="cash")

    page = patron_client.get(ACCOUNT).content.decode()

    assert f'value="{fees[0].pk}"' not in page
    assert f'value="{fees[1].pk}"' in page


def test_a_fee_covered_by_todays_counter_payment_says_why(patron_client, patron, fees):
    ledger_services.payment_book(patron=patron, amount_cents=1200, method="cash")

    page = patron_client.get(ACCOUNT).content.decode()

    assert "Paid; it is offset in the next daily settlement." in page


def test_a_fee_covered_by_a_counter_payment_is_refused_as_paid(patron_client, patron, fees):
    ledger_services.payment_book(patron=patron, amount_cents=500, method="cash")

    response = start_payment(patron_client, fees[0])

    assert "paid already and is being processed" in response.content.decode()
    assert not PaymentOrder.objects.exists()


def test_a_fee_partly_paid_at_the_counter_shows_what_is_left(patron_client, patron, fees):
    # The counter payment pays the oldest fee first: all of the 5.00, then 7.00 of the 12.00.
    ledger_services.payment_book(patron=patron, amount_cents=1200, method="cash")

    page = patron_client.get(ACCOUNT).content.decode()

    assert "5.00 EUR of 12.00 EUR still to pay" in page


def test_an_order_for_a_fee_partly_paid_at_the_counter_charges_the_rest(
    patron_client, patron, fees
):
    ledger_services.payment_book(patron=patron, amount_cents=1200, method="cash")

    start_payment(patron_client, fees[1])

    assert PaymentOrder.objects.get().amount_cents == 500


def test_pay_the_rest_leads_to_the_account_with_the_fee_ticked(patron_client, fees, underpaid):
    page = patron_client.get(reverse("payments:order", args=[underpaid.reference])).content
    link = re.search(r'href="([^"]+)">Pay the rest<', page.decode()).group(1).replace("&amp;", "&")

    account = patron_client.get(link).content.decode()

    assert f'value="{fees[1].pk}" id="fee-{fees[1].pk}" checked' in account
    assert f'value="{fees[0].pk}" id="fee-{fees[0].pk}">' in account
    assert re.search(r'id="selected-total"[^>]*>6\.00 EUR<', account)


def test_a_fee_chosen_in_the_address_that_is_not_the_patrons_ticks_nothing(patron_client, fees):
    account = patron_client.get(ACCOUNT, {"fee": ["abc"]})

    assert account.status_code == 200
    assert not re.search(r'name="fee"[^>]*checked', account.content.decode())


def test_another_patrons_fee_in_the_address_adds_nothing_to_the_total(patron_client, fees):
    strangers_fee = FeeFactory(amount_cents=900)

    account = patron_client.get(ACCOUNT, {"fee": [strangers_fee.pk]}).content.decode()

    assert f'value="{strangers_fee.pk}"' not in account
    assert re.search(r'id="selected-total"[^>]*>0\.00 EUR<', account)
