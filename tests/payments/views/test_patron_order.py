"""What a patron reads about one payment, and what the portal never shows them."""

import re

import pytest
from django.urls import reverse

from fees.models import Owner
from payments import services
from payments.models import (
    EventSource,
    OrderStatus,
    PaymentOrder,
    Refund,
    RefundStatus,
    SimulatedCheckout,
)
from tests.factories import DeskStaffFactory, FeeFactory, OwnerFactory, PatronFactory
from tests.payments.helpers import choose, start_payment

pytestmark = pytest.mark.django_db


def order_page(client, order):
    return client.get(reverse("payments:order", args=[order.reference])).content.decode()


@pytest.fixture
def paid(patron_client, order):
    checkout = SimulatedCheckout.objects.get()
    patron_client.post(
        reverse("payments:simulated_checkout", args=[checkout.transaction_id]),
        {"action": "pay", "delivery": "now"},
    )
    order.refresh_from_db()
    return order


@pytest.fixture
def paid_after_cancel(order):
    services.order_cancel(order=order, staff_user=DeskStaffFactory(), reason="patron phoned")
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )
    order.refresh_from_db()
    return order


def test_money_after_a_cancellation_is_explained_on_the_order_page(
    patron_client, paid_after_cancel
):
    page = order_page(patron_client, paid_after_cancel)

    assert "Your money arrived after the library had cancelled this payment." in page


def test_money_after_a_cancellation_is_not_lost_and_not_to_be_paid_again(
    patron_client, paid_after_cancel
):
    page = order_page(patron_client, paid_after_cancel)

    assert "It is not lost, and you do not need to pay these fees again." in page
    assert "Library staff will book the money to your account" in page


def test_the_order_page_shows_no_provider_ids(patron_client, paid):
    page = order_page(patron_client, paid)

    assert paid.provider_transaction_id not in page
    assert "simevt_" not in page


def test_the_orders_list_shows_no_provider_ids(patron_client, paid):
    page = patron_client.get(reverse("payments:orders")).content.decode()

    assert paid.provider_transaction_id not in page
    assert "simevt_" not in page


def test_the_receipt_shows_no_provider_ids(patron_client, paid):
    page = patron_client.get(reverse("payments:receipt", args=[paid.reference])).content
    page = page.decode()

    assert paid.provider_transaction_id not in page
    assert "simevt_" not in page


def test_the_test_mode_link_finds_the_simulated_checkout_through_the_order(patron_client, order):
    response = patron_client.get(
        reverse("payments:simulated_checkout_of_order", args=[order.reference])
    )

    assert response.url == reverse(
        "payments:simulated_checkout", args=[order.provider_transaction_id]
    )


def test_the_test_mode_link_does_not_lead_to_another_patrons_checkout(client, order):
    client.force_login(PatronFactory().user)

    response = client.get(reverse("payments:simulated_checkout_of_order", args=[order.reference]))

    assert response.status_code == 404


def test_an_open_order_page_looks_again_without_reloading_itself(patron_client, order):
    page = order_page(patron_client, order)

    assert "order_status.js" in page
    assert 'http-equiv="refresh"' not in page


def test_the_order_page_says_what_went_back_to_the_card_and_when(patron_client, refunded):
    page = order_page(patron_client, refunded.order)

    assert re.search(
        r'<dd id="refunds">0\.70 EUR refunded to the card or account you paid with, on '
        r"\d\d/\d\d/\d{4} \d",
        page,
    )


def test_the_receipt_lists_the_refund_below_the_amount_paid(patron_client, refunded):
    url = reverse("payments:receipt", args=[refunded.order.reference])

    page = patron_client.get(url).content.decode()

    assert re.search(
        r"Refunded to your card on \d\d/\d\d/\d{4} [^<]*</th><td class=\"num\">0\.70 EUR", page
    )


def test_a_refund_still_on_its_way_says_so(patron_client, refunded, settings):
    Refund.objects.filter(pk=refunded.pk).update(status=RefundStatus.REQUESTED, entry=None)

    page = order_page(patron_client, refunded.order)

    assert "0.70 EUR on its way back to the card or account you paid with" in page


def test_the_receipt_names_the_owner_and_its_footer(patron_client, paid):
    Owner.objects.filter(is_default=True).update(
        name_en="City Library, Main Branch", receipt_footer="VAT-free under §4 UStG"
    )

    page = patron_client.get(reverse("payments:receipt", args=[paid.reference])).content.decode()

    assert "<p>City Library, Main Branch</p>" in page
    assert "VAT-free under §4 UStG" in page


@pytest.fixture
def paid_with_a_service_fee(patron_client, patron):
    """A branch's 5.00 fee paid on its simulated merchant's page, with its 0.50 service fee."""
    north = OwnerFactory(name_en="North Branch", service_fee_cents=50)
    fee = FeeFactory(patron=patron, amount_cents=500, owner=north)
    checkout_url = start_payment(patron_client, fee)["Location"]
    choose(patron_client, checkout_url, "pay")
    return PaymentOrder.objects.get(owner=north)


def test_the_order_page_lists_the_service_fee_beside_the_fees(
    patron_client, paid_with_a_service_fee
):
    page = order_page(patron_client, paid_with_a_service_fee)

    assert re.search(
        r"Service fee of North Branch for paying online</td><td class=\"num\">0\.50 EUR", page
    )
    assert "5.50 EUR" in page


def test_the_receipt_lists_the_service_fee_and_the_whole_amount_paid(
    patron_client, paid_with_a_service_fee
):
    url = reverse("payments:receipt", args=[paid_with_a_service_fee.reference])
    page = patron_client.get(url).content.decode()

    assert re.search(
        r"Service fee of North Branch for paying online</td><td class=\"num\">0\.50", page
    )
    assert re.search(r"Amount paid</th><td class=\"num\"><strong>5\.50 EUR", page)


def test_the_receipt_email_lists_the_service_fee(paid_with_a_service_fee, mailoutbox):
    from payments.receipts import send_receipt

    send_receipt(order_id=paid_with_a_service_fee.pk)

    assert "- Service fee of North Branch for paying online: 0.50 EUR" in mailoutbox[-1].body
