"""An owner offering several providers: the patron picks one on the account page."""

import pytest
from django.urls import reverse

from fees import services as ledger_services
from fees.models import Owner
from payments.models import PaymentEvent, PaymentOrder
from tests.factories import FeeFactory, OwnerFactory

pytestmark = pytest.mark.django_db

PAY = reverse("payments:pay")
ACCOUNT = reverse("payments:account")


@pytest.fixture
def offers_two():
    """The default owner (the `fees` fixture's) offers the simulated provider and PayPal."""
    owner = Owner.objects.default()
    owner.provider = "simulated,paypal"
    owner.save()
    return owner


def test_one_provider_shows_no_choice(patron_client, fees):
    page = patron_client.get(ACCOUNT).content.decode()

    assert 'name="provider"' not in page


def test_several_providers_are_offered_as_labelled_radio_buttons(patron_client, fees, offers_two):
    page = patron_client.get(ACCOUNT).content.decode()

    assert "<legend>Pay with:</legend>" in page
    radio = f'id="provider-{offers_two.pk}-paypal"'
    assert f'<label for="provider-{offers_two.pk}-paypal"><input type="radio" ' in page
    assert f'name="provider" value="paypal" {radio}> PayPal</label>' in page
    assert f'value="simulated" id="provider-{offers_two.pk}-simulated" checked>' in page


def test_the_choice_is_shown_in_german(patron_client, fees, offers_two):
    page = patron_client.get(ACCOUNT, headers={"accept-language": "de"}).content.decode()

    assert "<legend>Bezahlen mit:</legend>" in page


def test_only_the_owner_offering_several_gets_the_choice(patron_client, fees, offers_two):
    north = OwnerFactory(provider="simulated")
    FeeFactory(patron=fees[0].patron, amount_cents=700, owner=north)

    page = patron_client.get(ACCOUNT).content.decode()

    assert f'id="provider-{offers_two.pk}-paypal"' in page
    assert f'id="provider-{north.pk}-' not in page


def test_the_order_uses_the_picked_provider(patron_client, fees, offers_two, fake_paypal):
    response = patron_client.post(PAY, {"fee": [fees[0].pk], "provider": "paypal"})

    assert PaymentOrder.objects.get().provider == "paypal"
    assert response.url.startswith(fake_paypal.url)


def test_without_a_pick_the_first_offered_provider_is_used(patron_client, fees, offers_two):
    patron_client.post(PAY, {"fee": [fees[0].pk]})

    assert PaymentOrder.objects.get().provider == "simulated"


@pytest.mark.parametrize("crafted", ["stripe", "bogus"])
def test_a_provider_the_owner_does_not_offer_is_refused_and_nothing_is_written(
    patron_client, fees, offers_two, crafted
):
    response = patron_client.post(PAY, {"fee": [fees[0].pk], "provider": crafted})

    assert response.status_code == 400
    assert "The chosen payment service is not offered for these fees." in (
        response.content.decode()
    )
    assert not PaymentOrder.objects.exists()
    assert not PaymentEvent.objects.exists()


def test_a_single_provider_as_stored_before_keeps_working(settings):
    owner = OwnerFactory(provider="stripe")

    assert owner.payment_providers == ["stripe"]
    assert owner.payment_provider == "stripe"


def test_an_owner_naming_none_offers_the_portals_provider(settings):
    settings.PAYMENT_PROVIDER = "paypal"

    assert OwnerFactory(provider="").payment_providers == ["paypal"]


def test_a_refused_payment_keeps_the_picked_provider(
    patron_client, patron, fees, offers_two, fake_paypal
):
    ledger_services.credit_note_book(patron=patron, amount_cents=1200, note="Goodwill")

    response = patron_client.post(PAY, {"fee": [fee.pk for fee in fees], "provider": "paypal"})

    page = response.content.decode()
    assert f'value="paypal" id="provider-{offers_two.pk}-paypal" checked>' in page
    assert f'value="simulated" id="provider-{offers_two.pk}-simulated">' in page
