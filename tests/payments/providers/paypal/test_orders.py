"""Amounts between the portal's integer minor units and PayPal's decimal strings."""

import pytest

from payments.providers.paypal.orders import cents_of, money


@pytest.mark.parametrize(
    ("cents", "currency", "value"),
    [(1234, "EUR", "12.34"), (5, "EUR", "0.05"), (100, "USD", "1.00"), (1234, "JPY", "1234")],
)
def test_minor_units_are_written_with_the_currencys_decimals(cents, currency, value):
    assert money(cents, currency) == {"currency_code": currency, "value": value}


@pytest.mark.parametrize(
    ("value", "currency", "cents"),
    [("12.34", "EUR", 1234), ("12.3", "EUR", 1230), ("12", "EUR", 1200), ("1234", "JPY", 1234)],
)
def test_paypals_decimal_strings_are_read_as_minor_units(value, currency, cents):
    assert cents_of({"currency_code": currency, "value": value}) == cents


@pytest.mark.parametrize("value", ["12.345", "twelve", "", "1e3"])
def test_an_amount_that_is_no_whole_number_of_minor_units_is_not_read(value):
    assert cents_of({"currency_code": "EUR", "value": value}) is None


def test_a_float_is_never_an_amount():
    with pytest.raises(ValueError):
        money(12.34, "EUR")
