"""Only staff with the desk permission see the desk; each action needs its own permission."""

import pytest
from django.urls import reverse

from fees.models import JournalEntry
from payments.models import OrderStatus
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db


def desk_urls(order):
    return [
        reverse("staffdesk:home"),
        reverse("staffdesk:orders"),
        reverse("staffdesk:orders_export"),
        reverse("staffdesk:order", args=[order.reference]),
        reverse("staffdesk:order_action", args=[order.reference, "cancel"]),
        reverse("staffdesk:patron", args=[order.patron.user_number]),
        reverse("staffdesk:patron_lookup") + f"?q={order.patron.card_number}",
    ]


def test_anonymous_visitors_are_sent_to_login(client, order):
    for url in desk_urls(order):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:login")), url


def test_patrons_get_no_desk_page(client, order):
    client.force_login(order.patron.user)

    for url in desk_urls(order):
        assert client.get(url).status_code == 403, url


def test_patron_cannot_post_a_desk_action(client, order):
    client.force_login(PatronFactory().user)

    url = reverse("staffdesk:order_action", args=[order.reference, "cancel"])
    response = client.post(
        url, {"reason": "x", "submission": "6f1c1c1e-0000-4000-8000-000000000000"}
    )

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER


def test_desk_staff_see_every_desk_page(desk_client, order):
    for url in desk_urls(order):
        assert desk_client.get(url).status_code in (200, 302), url


@pytest.mark.parametrize("action", ["cancel", "complete", "book-late"])
def test_each_order_action_needs_its_own_permission(viewer, order, action):
    url = reverse("staffdesk:order_action", args=[order.reference, action])

    assert viewer.get(url).status_code == 403
    response = viewer.post(
        url, {"reason": "x", "submission": "6f1c1c1e-0000-4000-8000-000000000000"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED_AT_PROVIDER


def test_counter_booking_needs_its_permission(viewer, order):
    url = reverse("staffdesk:patron", args=[order.patron.user_number])

    response = viewer.post(
        url,
        {"kind": "counter_payment", "amount": "5.00", "method": "cash", "note": "x",
         "submission": "6f1c1c1e-0000-4000-8000-000000000000"},
    )  # fmt: skip

    assert response.status_code == 403
    assert not JournalEntry.objects.filter(kind="payment").exists()
    assert "Book at the counter" not in viewer.get(url).content.decode()


def test_unknown_action_is_not_found(desk_client, order):
    url = reverse("staffdesk:order_action", args=[order.reference, "refund-everything"])

    assert desk_client.get(url).status_code == 404
