"""The whole flow with the simulated provider, through Django's test client."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from fees import selectors as fees_selectors
from fees.models import EntryKind, JournalEntry
from payments.models import OrderStatus, PaymentOrder, SimulatedCheckout
from tests.payments.helpers import choose, start_payment

pytestmark = pytest.mark.django_db


def test_patron_pays_selected_fees_and_gets_a_receipt(
    client, patron, fees, django_capture_on_commit_callbacks
):
    client.post(
        reverse("accounts:login"),
        {"username": patron.card_number, "password": "correct horse battery"},
    )
    page = client.get(reverse("payments:account")).content.decode()
    assert f'value="{fees[0].pk}"' in page

    response = start_payment(client, *fees[:2])
    checkout_url = response.url
    assert checkout_url.startswith("/simulated-provider/sim_")
    assert "17.00 EUR" in client.get(checkout_url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        back = choose(client, checkout_url, "pay")
    order = PaymentOrder.objects.get()
    assert back.url == f"http://testserver{reverse('payments:order', args=[order.reference])}"

    status_page = client.get(back.url).content.decode()
    assert "your payment has been received" in status_page
    payment = JournalEntry.objects.get(kind=EntryKind.PAYMENT)
    assert (payment.amount_cents, payment.reference) == (-1700, order.reference)
    assert set(payment.for_fees.all()) == set(fees[:2])
    assert order.status == OrderStatus.PAID and order.payment_entry == payment
    assert fees_selectors.balance_cents(patron=patron) == 300
    receipt = client.get(reverse("payments:receipt", args=[order.reference])).content.decode()
    assert "Damaged cover" in receipt and "17.00 EUR" in receipt
    assert len(mail.outbox) == 1
    assert order.reference in mail.outbox[0].subject
    assert mail.outbox[0].to == ["patron@example.org"]


def test_reference_numbers_are_readable_and_unrelated(patron_client, fees):
    start_payment(patron_client, *fees[:1])
    start_payment(patron_client, *fees[1:2])

    first, second = PaymentOrder.objects.order_by("id").values_list("reference", flat=True)

    assert re.fullmatch(r"EP-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", first)
    assert first != second
    assert first[:-1] != second[:-1]  # not a counter


def test_order_records_created_then_created_at_provider(patron_client, fees):
    start_payment(patron_client, *fees[:1])

    order = PaymentOrder.objects.get()
    assert list(order.events.values_list("status", "source")) == [
        ("Created", "portal"),
        ("CreatedAtProvider", "provider"),
    ]
    assert order.status == OrderStatus.CREATED_AT_PROVIDER
    assert (order.provider, order.mode, order.amount_cents) == ("simulated", "test", 500)


def test_callback_delivered_twice_books_once(patron_client, fees):
    checkout_url = start_payment(patron_client, *fees[:1]).url

    choose(patron_client, checkout_url, "pay", delivery="twice")

    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert PaymentOrder.objects.get().events.filter(status="Paid").count() == 1


def test_late_callback_books_when_it_finally_arrives(patron_client, fees):
    checkout_url = start_payment(patron_client, *fees[:1]).url
    choose(patron_client, checkout_url, "pay", delivery="hold")
    assert not JournalEntry.objects.filter(kind=EntryKind.PAYMENT).exists()

    patron_client.post(checkout_url, {"action": "deliver_held"})

    assert PaymentOrder.objects.get().status == OrderStatus.PAID
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1


def test_return_page_asks_the_provider_when_the_callback_is_late(patron_client, fees):
    checkout_url = start_payment(patron_client, *fees[:1]).url
    back = choose(patron_client, checkout_url, "pay", delivery="hold")

    page = patron_client.get(back.url).content.decode()

    assert "your payment has been received" in page
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    patron_client.post(checkout_url, {"action": "deliver_held"})
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1


def test_paying_less_books_what_was_received_and_flags_the_order(patron_client, fees):
    checkout_url = start_payment(patron_client, *fees[1:2]).url

    choose(patron_client, checkout_url, "pay_less")

    order = PaymentOrder.objects.get()
    assert order.status == OrderStatus.UNDERPAID
    assert order.payment_entry.amount_cents == -600


def test_failed_payment_books_nothing_and_frees_the_fees(patron_client, fees):
    checkout_url = start_payment(patron_client, *fees[:1]).url

    back = choose(patron_client, checkout_url, "fail")

    assert "did not go through" in patron_client.get(back.url).content.decode()
    assert PaymentOrder.objects.get().status == OrderStatus.FAILED
    assert not JournalEntry.objects.filter(kind=EntryKind.PAYMENT).exists()
    assert start_payment(patron_client, *fees[:1]).status_code == 302


def test_abandoned_checkout_stays_open_until_the_provider_expires_it(patron_client, fees):
    checkout_url = start_payment(patron_client, *fees[:1]).url

    back = choose(patron_client, checkout_url, "abandon")

    assert "still being processed" in patron_client.get(back.url, follow=True).content.decode()
    assert PaymentOrder.objects.get().status == OrderStatus.CREATED_AT_PROVIDER


def test_chargeback_after_payment_books_a_reversal_owed_again(patron_client, patron, fees):
    checkout_url = start_payment(patron_client, *fees[:1]).url
    choose(patron_client, checkout_url, "pay")

    choose(patron_client, checkout_url, "chargeback")

    order = PaymentOrder.objects.get()
    assert order.status == OrderStatus.CHARGEBACK
    reversal = JournalEntry.objects.get(kind=EntryKind.REVERSAL)
    assert (reversal.amount_cents, reversal.target) == (500, order.payment_entry)
    assert fees_selectors.balance_cents(patron=patron) == 2000


def test_receipt_of_an_unpaid_order_is_not_found(patron_client, fees):
    start_payment(patron_client, *fees[:1])
    order = PaymentOrder.objects.get()

    assert patron_client.get(reverse("payments:receipt", args=[order.reference])).status_code == 404


def test_orders_page_lists_the_patrons_orders(patron_client, fees):
    checkout_url = start_payment(patron_client, *fees[:1]).url
    choose(patron_client, checkout_url, "pay")
    order = PaymentOrder.objects.get()

    page = patron_client.get(reverse("payments:orders")).content.decode()

    assert order.reference in page
    assert reverse("payments:receipt", args=[order.reference]) in page


def test_simulated_checkout_page_is_gone_in_live_mode(patron_client, fees, settings):
    checkout_url = start_payment(patron_client, *fees[:1]).url
    settings.PAYMENT_MODE = "live"

    assert patron_client.get(checkout_url).status_code == 404
    assert SimulatedCheckout.objects.get().outcome == "open"


def test_the_simulated_providers_page_speaks_german(patron_client, fees):
    patron_client.post(reverse("set_language"), {"language": "de"})
    checkout_url = start_payment(patron_client, fees[0]).url

    page = patron_client.get(checkout_url).content.decode()

    assert "5,00 EUR bezahlen" in page
    assert "Weniger bezahlen" in page and "Rückmeldung an das Portal" in page
    assert "Pay less" not in page and "Callback to the portal" not in page
