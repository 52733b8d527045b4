"""Starting a payment: overbooking prevention, reserved fees, and bad or crafted input."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fees import services as ledger_services
from fees.settlement import settlement_run
from payments import services
from payments.models import OrderFee, OrderStatus, PaymentOrder, SimulatedCheckout
from tests.factories import PASSWORD, FeeFactory, OwnerFactory, PatronFactory

pytestmark = pytest.mark.django_db

PAY = reverse("payments:pay")


def pay(client, *fee_ids, **extra):
    return client.post(PAY, {"fee": [str(i) for i in fee_ids], **extra})


def test_a_credit_below_the_fees_refuses_the_full_selection_and_states_the_maximum(
    patron_client, patron, fees
):
    # A credit note is for no fee in particular: it lowers the balance, not one fee.
    ledger_services.credit_note_book(patron=patron, amount_cents=1200, note="Goodwill")

    response = pay(patron_client, *(fee.pk for fee in fees))

    page = response.content.decode()
    assert "Only fees up to your balance can be paid: at most 8.00 EUR right now" in page
    assert not PaymentOrder.objects.exists()
    assert not SimulatedCheckout.objects.exists()
    for fee in fees:  # the selection is kept for the patron to deselect
        assert f'value="{fee.pk}" id="fee-{fee.pk}" checked' in page


def test_after_deselecting_the_payment_starts(patron_client, patron, fees):
    ledger_services.credit_note_book(patron=patron, amount_cents=1200, note="Goodwill")
    pay(patron_client, *(fee.pk for fee in fees))

    response = pay(patron_client, fees[0].pk, fees[2].pk)

    assert response.status_code == 302
    assert PaymentOrder.objects.get().amount_cents == 800


def test_zero_balance_makes_nothing_payable(patron_client, patron, fees):
    ledger_services.credit_note_book(patron=patron, amount_cents=2000, note="Goodwill")

    response = pay(patron_client, fees[0].pk)

    assert "at most 0.00 EUR right now" in response.content.decode()
    assert not PaymentOrder.objects.exists()


def test_open_orders_count_against_what_is_payable(patron_client, patron, fees):
    ledger_services.credit_note_book(patron=patron, amount_cents=1200, note="Goodwill")
    pay(patron_client, fees[0].pk)  # 5.00 of the 8.00 payable now in an open order

    response = pay(patron_client, fees[2].pk)  # 3.00: fits exactly

    assert response.status_code == 302
    assert "at most 0.00 EUR right now" in pay(patron_client, fees[1].pk).content.decode()


def test_second_tab_cannot_pay_a_fee_already_in_an_open_order(patron_client, fees):
    pay(patron_client, fees[0].pk)

    response = pay(patron_client, fees[0].pk)

    assert "already in a payment that has not finished" in response.content.decode()
    assert PaymentOrder.objects.count() == 1


def test_overlapping_selection_is_refused(patron_client, fees):
    pay(patron_client, fees[0].pk, fees[1].pk)

    response = pay(patron_client, fees[1].pk, fees[2].pk)

    assert "already in a payment" in response.content.decode()
    assert PaymentOrder.objects.count() == 1


def test_fee_in_an_open_order_has_no_checkbox(patron_client, fees):
    pay(patron_client, fees[0].pk)

    page = patron_client.get(reverse("payments:account")).content.decode()

    assert f'value="{fees[0].pk}"' not in page
    assert f'value="{fees[1].pk}"' in page
    assert "Payment in progress:" in page


def test_paid_fee_waiting_for_the_settlement_cannot_be_paid_again(patron_client, fees):
    checkout = pay(patron_client, fees[0].pk).url
    patron_client.post(checkout, {"action": "pay"})

    response = pay(patron_client, fees[0].pk)

    assert "paid already and is being processed" in response.content.decode()
    assert PaymentOrder.objects.count() == 1


def test_database_allows_a_fee_in_only_one_open_order(patron, fees):
    from django.db import IntegrityError, transaction

    pay_order = PaymentOrder.objects.create(
        reference="EP-AAAA-AAAA", patron=patron, amount_cents=500, currency="EUR",
        provider="simulated", mode="test",
    )  # fmt: skip
    OrderFee.objects.create(order=pay_order, fee=fees[0], amount_cents=500)
    other = PaymentOrder.objects.create(
        reference="EP-BBBB-BBBB", patron=patron, amount_cents=500, currency="EUR",
        provider="simulated", mode="test",
    )  # fmt: skip

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFee.objects.create(order=other, fee=fees[0], amount_cents=500)


def test_nothing_selected_is_explained(patron_client, fees):
    response = pay(patron_client)

    assert response.status_code == 400
    assert "Please select the fees" in response.content.decode()


def test_non_numeric_fee_id_is_refused_clearly(patron_client, fees):
    response = pay(patron_client, "abc")

    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    assert not PaymentOrder.objects.exists()


def test_another_patrons_fee_is_not_found_and_starts_nothing(patron_client, fees):
    someone_elses = FeeFactory(patron=PatronFactory(), amount_cents=100)

    with mock.patch("payments.providers.simulated.SimulatedProvider.start_checkout") as start:
        response = pay(patron_client, fees[0].pk, someone_elses.pk)

    assert response.status_code == 404
    assert not PaymentOrder.objects.exists()
    start.assert_not_called()


def test_a_payment_entry_id_is_not_a_fee(patron_client, patron, fees):
    payment = ledger_services.payment_book(patron=patron, amount_cents=100)

    assert pay(patron_client, payment.pk).status_code == 404


def test_tampered_amount_is_ignored(patron_client, fees):
    pay(patron_client, fees[1].pk, amount_cents="1", amount="0.01")

    assert PaymentOrder.objects.get().amount_cents == 1200
    assert SimulatedCheckout.objects.get().amount_cents == 1200


def test_another_patrons_order_and_receipt_are_not_found(patron_client, fees):
    stranger = PatronFactory()
    stranger_fee = FeeFactory(patron=stranger, amount_cents=100)
    other_client = Client()
    other_client.force_login(stranger.user)
    checkout = pay(other_client, stranger_fee.pk).url
    other_client.post(checkout, {"action": "pay"})
    order = PaymentOrder.objects.get(patron=stranger)

    assert patron_client.get(reverse("payments:order", args=[order.reference])).status_code == 404
    assert patron_client.get(reverse("payments:receipt", args=[order.reference])).status_code == 404
    assert order.reference not in patron_client.get(reverse("payments:orders")).content.decode()


def test_anonymous_visitor_cannot_pay(client, fees):
    response = pay(client, fees[0].pk)

    assert response.status_code == 302
    assert not PaymentOrder.objects.exists()


def test_get_on_pay_is_refused(patron_client, fees):
    assert patron_client.get(PAY).status_code == 405


@pytest.mark.parametrize("action", ["pay", "logout", "language"])
def test_every_form_needs_the_csrf_token(patron, fees, action):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patron.user)
    url, data = {
        "pay": (PAY, {"fee": [fees[0].pk]}),
        "logout": (reverse("accounts:logout"), {}),
        "language": (reverse("set_language"), {"language": "de"}),
    }[action]

    assert client.post(url, data).status_code == 403
    assert not PaymentOrder.objects.exists()


def test_simulated_provider_page_needs_the_csrf_token(patron_client, fees):
    checkout = pay(patron_client, fees[0].pk).url
    client = Client(enforce_csrf_checks=True)

    assert client.post(checkout, {"action": "pay"}).status_code == 403
    assert PaymentOrder.objects.get().status == OrderStatus.CREATED_AT_PROVIDER


def test_pay_with_real_login_and_csrf_token(patron, fees):
    client = Client(enforce_csrf_checks=True)
    login_page = client.get(reverse("accounts:login"))
    token = login_page.cookies["csrftoken"].value
    client.post(
        reverse("accounts:login"),
        {"username": patron.card_number, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    token = client.cookies["csrftoken"].value

    response = client.post(PAY, {"fee": [fees[0].pk], "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert PaymentOrder.objects.count() == 1


# Superscript two; Arabic-Indic three; full-width three.
@pytest.mark.parametrize("fee_id", ["\u00b2", "\u0663", "\uff13"])
def test_fee_id_in_digits_other_than_0_to_9_is_refused_clearly(patron_client, fees, fee_id):
    response = pay(patron_client, fee_id)

    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    assert not PaymentOrder.objects.exists()


@pytest.mark.parametrize("path", ["/orders/%00/", "/orders/%00/receipt/", "/orders/EP-%00/"])
def test_nul_in_an_order_reference_is_not_found(patron_client, fees, path):
    assert patron_client.get(path).status_code == 404


def test_nul_in_a_simulated_checkout_id_is_not_found(patron_client, fees):
    assert patron_client.get("/simulated-provider/sim_%00/").status_code == 404


def test_a_fee_charged_back_after_the_settlement_is_paid_again_by_its_own_id(patron, fees):
    payment = ledger_services.payment_book(patron=patron, amount_cents=500, for_fees=[fees[0]])
    settlement_run(business_date=timezone.localdate())
    (reversal,) = ledger_services.reversal_book(payment=payment)

    order = services.order_create(patron=patron, fee_ids=[fees[0].pk])

    assert list(order.order_fees.values_list("fee_id", "amount_cents")) == [(reversal.pk, 500)]


def test_a_fee_with_nothing_left_to_pay_is_refused_by_its_own_id(patron, fees):
    ledger_services.payment_book(patron=patron, amount_cents=500, for_fees=[fees[0]])

    with pytest.raises(ValidationError) as refused:
        services.order_create(patron=patron, fee_ids=[fees[0].pk])

    assert refused.value.code == "already_paid"


def test_one_payment_pays_the_fees_of_one_owner(patron, fees):
    branch = OwnerFactory()
    branch_fee = FeeFactory(patron=patron, amount_cents=700, owner=branch)

    order = services.order_create(patron=patron, fee_ids=[branch_fee.pk])

    assert (order.owner, order.amount_cents) == (branch, 700)


def test_fees_of_two_owners_in_one_payment_are_refused_and_start_nothing(patron_client, fees):
    branch_fee = FeeFactory(patron=fees[0].patron, amount_cents=700, owner=OwnerFactory())

    response = pay(patron_client, fees[0].pk, branch_fee.pk)

    assert "belong to different libraries, which are paid separately" in response.content.decode()
    assert not PaymentOrder.objects.exists()
