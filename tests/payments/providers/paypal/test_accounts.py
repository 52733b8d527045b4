"""An owner's own PayPal account: its REST app (client id, the secret's environment
variable) and its webhook id; a webhook is believed only for the orders of the account
whose webhook id it was signed for."""

import pytest

from payments import services
from payments.models import OrderStatus
from payments.providers import check_provider_settings
from tests.factories import FeeFactory, OwnerFactory
from tests.payments.paypal.helpers import deliver
from tests.payments.paypal.signing import WEBHOOK_ID, event

pytestmark = pytest.mark.django_db

NORTH_WEBHOOK_ID = "5GP028458E2496506"


@pytest.fixture
def north(monkeypatch, fake_paypal):
    monkeypatch.setenv("NORTH_PAYPAL_SECRET", "EFnorth-secret")
    fake_paypal.credentials["AZnorth-client"] = "EFnorth-secret"
    return OwnerFactory(
        code="NORTH",
        provider="paypal",
        paypal_client_id="AZnorth-client",
        paypal_client_secret_env="NORTH_PAYPAL_SECRET",
        paypal_webhook_id=NORTH_WEBHOOK_ID,
    )


@pytest.fixture
def north_capture(north, patron, fake_paypal):
    """The branch's order, approved and captured at PayPal (the portal not told yet)."""
    fee = FeeFactory(patron=patron, amount_cents=500, owner=north)
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
    order.refresh_from_db()
    fake_paypal.approve(order.provider_transaction_id)
    from payments.providers import order_provider

    order_provider(order).client.capture_order(order.provider_transaction_id, request_id="t")
    return order, fake_paypal.capture_of(order.provider_transaction_id)


def test_an_owners_order_is_opened_with_its_own_rest_app(north_capture, fake_paypal):
    import base64

    (token_request,) = fake_paypal.sent("POST", "/v1/oauth2/token")
    credentials = base64.b64decode(token_request.headers["authorization"].split()[1]).decode()
    assert credentials == "AZnorth-client:EFnorth-secret"


def test_a_webhook_for_the_owners_webhook_id_is_booked(client, north_capture, fake_paypal):
    order, capture = north_capture

    deliver(
        client,
        fake_paypal,
        event("PAYMENT.CAPTURE.COMPLETED", capture),
        webhook_id=NORTH_WEBHOOK_ID,
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_a_webhook_for_another_accounts_webhook_id_books_nothing(
    client, north_capture, fake_paypal
):
    order, capture = north_capture

    response = deliver(
        client, fake_paypal, event("PAYMENT.CAPTURE.COMPLETED", capture), webhook_id=WEBHOOK_ID
    )

    order.refresh_from_db()
    assert response.status_code == 200
    assert order.status == OrderStatus.CREATED_AT_PROVIDER


def test_live_mode_with_a_sandbox_paypal_is_refused(fake_paypal, settings):
    settings.PAYMENT_MODE = "live"
    settings.PAYPAL_ENVIRONMENT = "sandbox"

    assert check_provider_settings() == [
        "PAYMENT_MODE is 'live' but PAYPAL_ENVIRONMENT is 'sandbox': live payments need "
        "PayPal's live environment, tests its sandbox."
    ]


def test_test_mode_with_a_live_paypal_is_refused(fake_paypal, settings):
    settings.PAYPAL_ENVIRONMENT = "live"

    assert check_provider_settings() == [
        "PAYMENT_MODE is 'test' but PAYPAL_ENVIRONMENT is 'live': live payments need "
        "PayPal's live environment, tests its sandbox."
    ]


def test_paypal_without_its_webhook_id_is_refused(fake_paypal, settings):
    settings.PAYPAL_WEBHOOK_ID = ""

    assert check_provider_settings() == [
        "PayPal needs PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET and PAYPAL_WEBHOOK_ID."
    ]


def test_a_configured_sandbox_paypal_in_test_mode_passes_the_check(fake_paypal):
    assert check_provider_settings() == []


def test_the_admin_shows_the_secrets_variable_never_the_secret(admin_client, north):
    from django.urls import reverse

    response = admin_client.get(reverse("admin:fees_owner_change", args=[north.pk]))

    assert b"NORTH_PAYPAL_SECRET" in response.content
    assert b"EFnorth-secret" not in response.content
