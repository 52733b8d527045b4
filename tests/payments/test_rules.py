"""The library's rules for paying online: fee types payable online, and the minimum and
maximum of one online payment, on top of the overbooking rule."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from fees import services as ledger_services
from payments import services
from payments.models import PaymentOrder
from payments.selectors import account_overview
from tests.factories import FeeFactory

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("payments:account")
PAY = reverse("payments:pay")


def pay(client, *fees):
    return client.post(PAY, {"fee": [str(fee.pk) for fee in fees]})


def test_a_fee_type_not_payable_online_is_not_selectable(patron, desk_fee):
    overview = account_overview(patron=patron, on_date=desk_fee.business_date)

    (line,) = overview.lines
    assert line.selectable is False
    assert line.payable_online is False


def test_order_create_refuses_a_fee_type_not_payable_online(patron, desk_fee):
    with pytest.raises(ValidationError) as error:
        services.order_create(patron=patron, fee_ids=[desk_fee.pk])

    assert error.value.code == "not_payable_online"
    assert not PaymentOrder.objects.exists()


def test_account_page_shows_a_desk_only_fee_with_the_reason_and_no_checkbox(
    patron_client, desk_fee
):
    page = patron_client.get(ACCOUNT).content.decode()

    assert "New card" in page
    assert "Pay this fee at the library desk." in page
    assert f'value="{desk_fee.pk}"' not in page


def test_crafted_post_cannot_pay_a_fee_type_not_payable_online(patron_client, desk_fee):
    response = pay(patron_client, desk_fee)

    assert "cannot be paid online" in response.content.decode()
    assert not PaymentOrder.objects.exists()


def test_a_fee_type_missing_from_the_table_stays_payable_online(patron):
    fee = FeeFactory(patron=patron, fee_type="legacy")

    (shown,) = account_overview(patron=patron, on_date=fee.business_date).lines

    assert shown.selectable is True


def test_order_create_refuses_an_amount_below_the_minimum(settings, patron, fees):
    settings.ONLINE_MINIMUM_CENTS = 1000

    with pytest.raises(ValidationError) as error:
        services.order_create(patron=patron, fee_ids=[fees[0].pk])

    assert error.value.code == "below_minimum"
    assert "10.00 EUR" in error.value.messages[0]


def test_order_create_accepts_an_amount_at_the_minimum(settings, patron, fees):
    settings.ONLINE_MINIMUM_CENTS = 1700

    order = services.order_create(patron=patron, fee_ids=[fees[0].pk, fees[1].pk])

    assert order.amount_cents == 1700


def test_account_page_says_when_all_open_fees_are_below_the_minimum(settings, patron_client, fees):
    settings.ONLINE_MINIMUM_CENTS = 5000

    page = patron_client.get(ACCOUNT).content.decode()

    assert "Online payments start at 50.00 EUR" in page
    assert "Pay selected fees" not in page


def test_account_page_offers_the_button_when_the_fees_reach_the_minimum(
    settings, patron_client, fees
):
    settings.ONLINE_MINIMUM_CENTS = 2000

    page = patron_client.get(ACCOUNT).content.decode()

    assert "Pay selected fees" in page
    assert "Online payments start at" not in page


def test_crafted_post_cannot_pay_less_than_the_minimum(settings, patron_client, fees):
    settings.ONLINE_MINIMUM_CENTS = 1000

    response = pay(patron_client, fees[0])

    assert "Online payments start at 10.00 EUR" in response.content.decode()
    assert not PaymentOrder.objects.exists()


def test_order_create_refuses_an_amount_over_the_maximum(settings, patron, fees):
    settings.ONLINE_MAXIMUM_CENTS = 1000

    with pytest.raises(ValidationError) as error:
        services.order_create(patron=patron, fee_ids=[fee.pk for fee in fees])

    assert error.value.code == "above_maximum"
    assert "10.00 EUR" in error.value.messages[0]


def test_pay_over_the_maximum_states_the_maximum_and_starts_nothing(settings, patron_client, fees):
    settings.ONLINE_MAXIMUM_CENTS = 1000

    response = pay(patron_client, *fees)

    assert "One online payment can be at most 10.00 EUR" in response.content.decode()
    assert not PaymentOrder.objects.exists()


def test_no_limits_by_default(patron, fees):
    order = services.order_create(patron=patron, fee_ids=[fees[2].pk])

    assert order.amount_cents == 300


def test_overbooking_still_applies_within_the_limits(settings, patron, fees):
    settings.ONLINE_MAXIMUM_CENTS = 10_000
    ledger_services.credit_note_book(patron=patron, amount_cents=1200, note="Goodwill")

    with pytest.raises(ValidationError) as error:
        services.order_create(patron=patron, fee_ids=[fee.pk for fee in fees])

    assert error.value.code == "exceeds_payable"
