"""A patron who left the provider's page gives up the open payment and pays again at once."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.labels import event_text
from payments.models import EventKind, EventSource, OrderStatus, PaymentOrder, SimulatedCheckout
from tests.factories import PatronFactory
from tests.payments.helpers import start_payment

pytestmark = pytest.mark.django_db


def give_up(client, order):
    return client.post(reverse("payments:abandon", args=[order.reference]))


def test_giving_up_ends_the_order_failed_as_the_patrons_doing(patron_client, order):
    response = give_up(patron_client, order)

    assert response.status_code == 302
    assert response.url == reverse("payments:account")
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    last = order.events.last()
    assert (last.source, last.kind) == (EventSource.PORTAL, EventKind.GIVEN_UP)
    assert event_text(last) == "Given up by the patron."


def test_after_giving_up_the_fees_can_be_paid_again_at_once(patron_client, fees, order):
    give_up(patron_client, order)

    response = start_payment(patron_client, fees[0])

    assert response.status_code == 302
    assert PaymentOrder.objects.filter(status=OrderStatus.CREATED_AT_PROVIDER).count() == 1


def test_giving_up_closes_the_checkout_at_the_provider(
    patron_client, order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        give_up(patron_client, order)

    assert SimulatedCheckout.objects.get().outcome == SimulatedCheckout.Outcome.EXPIRED


def test_the_account_page_confirms_that_the_payment_was_given_up(patron_client, order):
    page = patron_client.get(give_up(patron_client, order).url).content.decode()

    assert f"You gave up payment {order.reference}" in page


def test_giving_up_is_a_post_only(patron_client, order):
    response = patron_client.get(reverse("payments:abandon", args=[order.reference]))

    assert response.status_code == 405
    order.refresh_from_db()
    assert order.is_open


def test_giving_up_needs_the_csrf_token(patron, order):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patron.user)

    response = give_up(client, order)

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.is_open


def test_another_patrons_payment_cannot_be_given_up(client, order):
    client.force_login(PatronFactory().user)

    response = give_up(client, order)

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.is_open


def test_the_service_refuses_another_patrons_order(order):
    with pytest.raises(PaymentOrder.DoesNotExist):
        services.order_abandon(order=order, patron=PatronFactory())


def test_a_payment_that_has_ended_cannot_be_given_up(patron_client, order):
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )

    response = give_up(patron_client, order)

    assert response.url == reverse("payments:order", args=[order.reference])
    assert "has ended already" in patron_client.get(response.url).content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_money_that_arrives_after_giving_up_is_booked_as_a_late_payment(patron_client, order):
    give_up(patron_client, order)

    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.payment_entry.amount_cents == -500
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1


def test_the_account_page_names_the_payment_holding_a_fee(patron_client, order):
    page = patron_client.get(reverse("payments:account")).content.decode()

    link = reverse("payments:order", args=[order.reference])
    assert f'Payment in progress: <a href="{link}">{order.reference}</a>' in page


def test_the_account_page_offers_to_give_up_each_payment_in_progress(patron_client, order):
    page = patron_client.get(reverse("payments:account")).content.decode()

    assert f'action="{reverse("payments:abandon", args=[order.reference])}"' in page


def test_the_order_page_offers_to_give_up_an_open_payment(patron_client, order):
    page = patron_client.get(reverse("payments:order", args=[order.reference])).content.decode()

    assert f'action="{reverse("payments:abandon", args=[order.reference])}"' in page


def test_the_order_page_of_an_ended_payment_offers_no_giving_up(patron_client, order):
    give_up(patron_client, order)

    page = patron_client.get(reverse("payments:order", args=[order.reference])).content.decode()

    assert reverse("payments:abandon", args=[order.reference]) not in page


def test_a_given_up_payment_reads_as_given_up_not_failed(patron_client, order):
    give_up(patron_client, order)

    page = patron_client.get(reverse("payments:order", args=[order.reference])).content.decode()
    orders = patron_client.get(reverse("payments:orders")).content.decode()

    assert "You gave up this payment." in page and "did not go through" not in page
    assert re.search(r"<td[^>]*>Given up</td>", orders)


def test_the_second_tabs_refusal_names_the_way_out(patron_client, order, fees):
    refused = start_payment(patron_client, fees[0]).content.decode()

    assert re.search(r'id="pay-error">[^<]*“Give up this payment”', refused)
