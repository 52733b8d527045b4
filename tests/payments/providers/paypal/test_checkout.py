"""Starting a PayPal order from the pay page, with PayPal faked at the HTTP layer and every
request held to PayPal's own description of Orders v2."""

import pytest

from fees.models import Owner
from payments.models import OrderStatus, PaymentOrder
from tests.payments.helpers import start_payment

pytestmark = pytest.mark.django_db


def test_patron_is_sent_to_paypal_to_approve(patron_client, fees, fake_paypal):
    response = start_payment(patron_client, fees[0])

    order = PaymentOrder.objects.get()
    assert response.url == f"{fake_paypal.url}/checkoutnow?token={order.provider_transaction_id}"
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert (order.provider, order.mode) == ("paypal", "test")
    assert fake_paypal.violations == []


def test_the_order_paypal_is_asked_for_is_one_its_description_accepts(
    patron_client, fees, fake_paypal
):
    start_payment(patron_client, fees[0], fees[1])

    (request,) = fake_paypal.sent("POST", "/v2/checkout/orders")
    assert fake_paypal.violations == []
    assert request.json()["intent"] == "CAPTURE"


def test_one_purchase_unit_carries_our_reference_and_the_amount_in_decimals(
    patron_client, fees, fake_paypal
):
    start_payment(patron_client, fees[0], fees[1])

    order = PaymentOrder.objects.get()
    (unit,) = fake_paypal.sent("POST", "/v2/checkout/orders")[0].json()["purchase_units"]
    assert unit["invoice_id"] == unit["custom_id"] == order.reference
    assert unit["amount"]["currency_code"] == "EUR"
    assert unit["amount"]["value"] == "17.00"
    assert unit["amount"]["breakdown"]["item_total"]["value"] == "17.00"


def test_each_fee_is_an_item(patron_client, fees, fake_paypal):
    start_payment(patron_client, fees[0], fees[1])

    (unit,) = fake_paypal.sent("POST", "/v2/checkout/orders")[0].json()["purchase_units"]
    items = {(item["name"], item["unit_amount"]["value"]) for item in unit["items"]}
    assert items == {("Overdue fine", "5.00"), ("Damaged cover", "12.00")}


def test_a_service_fee_is_an_item_of_its_own(patron_client, fees, fake_paypal):
    Owner.objects.filter(is_default=True).update(service_fee_cents=50)

    start_payment(patron_client, fees[0])

    (unit,) = fake_paypal.sent("POST", "/v2/checkout/orders")[0].json()["purchase_units"]
    assert [item["unit_amount"]["value"] for item in unit["items"]] == ["5.00", "0.50"]
    assert unit["amount"]["value"] == "5.50"
    assert fake_paypal.violations == []


def test_the_order_is_created_with_our_request_id_and_an_oauth_token(
    patron_client, fees, fake_paypal
):
    start_payment(patron_client, fees[0])

    order = PaymentOrder.objects.get()
    (request,) = fake_paypal.sent("POST", "/v2/checkout/orders")
    assert request.headers["paypal-request-id"] == f"epayment-order-{order.reference}"
    assert request.headers["authorization"].startswith("Bearer ")
    assert len(fake_paypal.sent("POST", "/v1/oauth2/token")) == 1


def test_patron_comes_back_to_the_order_page(patron_client, fees, fake_paypal):
    start_payment(patron_client, fees[0])

    order = PaymentOrder.objects.get()
    body = fake_paypal.sent("POST", "/v2/checkout/orders")[0].json()
    context = body["payment_source"]["paypal"]["experience_context"]
    assert context["return_url"].endswith(f"/orders/{order.reference}/")


def test_paypal_unreachable_means_nothing_charged_and_a_message(
    patron_client, fees, fake_paypal, settings
):
    from tests.library_systems.fake_server import closed_port_url

    settings.PAYPAL_API_BASE = closed_port_url()

    response = start_payment(patron_client, fees[0])

    assert response.status_code == 503
    assert PaymentOrder.objects.get().provider_transaction_id is None
