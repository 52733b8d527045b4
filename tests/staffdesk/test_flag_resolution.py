"""Underpaid and charged-back orders are resolved by staff, with what was done and why."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import FLAG_STATUSES, EventSource, OrderStatus, PaymentOrder
from payments.selectors import needs_attention_q
from payments.services.staff import FLAG_RESOLUTIONS
from staffdesk.models import StaffAction
from tests.staffdesk.conftest import make_order, order_action, underpaid

pytestmark = pytest.mark.django_db


def charged_back():
    order = make_order(amount_cents=500)
    services.payment_order_transition(order=order, status="Paid", source=EventSource.PROVIDER)
    services.payment_order_transition(
        order=order, status="Cancelation", source=EventSource.PROVIDER
    )
    order.refresh_from_db()
    return order


def resolve(client, order, resolution, reason="Spoke to the patron", submission=None):
    return order_action(
        client, order, "resolve", reason=reason, submission=submission, resolution=resolution
    )


def attention_list(client):
    response = client.get(reverse("staffdesk:orders"), {"attention": "on"})
    return [order.reference for order in response.context["page"].object_list]


def home(client):
    return client.get(reverse("staffdesk:home")).content.decode()


def test_a_resolved_underpayment_leaves_the_attention_list(desk_client):
    order = underpaid()
    assert attention_list(desk_client) == [order.reference]

    resolve(desk_client, order, "rest_waived")

    assert attention_list(desk_client) == []


@pytest.mark.parametrize(
    ("flagged", "resolution", "count"),
    [
        pytest.param(underpaid, "rest_open", "count-underpaid", id="underpayment"),
        pytest.param(charged_back, "patron_contacted", "count-chargeback", id="chargeback"),
    ],
)
def test_a_resolved_flag_leaves_the_start_page_count(desk_client, flagged, resolution, count):
    order = flagged()
    assert f'id="{count}">1<' in home(desk_client)

    resolve(desk_client, order, resolution)

    assert f'id="{count}">0<' in home(desk_client)


def test_the_resolution_is_audited_with_what_was_done_and_why(desk_client, staff):
    order = charged_back()

    response = resolve(desk_client, order, "patron_contacted", reason="Phoned on Monday")

    assert response.url == reverse("staffdesk:order", args=[order.reference])
    action = StaffAction.objects.get()
    assert (action.kind, action.staff_user, action.order, action.patron) == (
        StaffAction.Kind.RESOLVE_FLAG, staff, order, order.patron,
    )  # fmt: skip
    assert (action.resolution, action.reason) == ("patron_contacted", "Phoned on Monday")
    assert action.explanation == "Chargeback acknowledged — patron contacted: Phoned on Monday"
    assert (action.status_before, action.status_after) == ("Cancelation", "Cancelation")


def test_the_resolution_is_in_the_orders_history_and_shown_on_the_order(desk_client, staff):
    order = underpaid()

    resolve(desk_client, order, "rest_paid", reason="Paid 3.00 cash")

    event = order.events.last()
    assert (event.status, event.source, event.staff_user) == ("Underpaid", "staff", staff)
    assert (event.kind, event.facts, event.note) == (
        "flag_resolved", {"resolution": "rest_paid"}, "Paid 3.00 cash",
    )  # fmt: skip
    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
    assert 'id="resolution"' in page and "desk7: Remaining amount paid at the counter" in page


def test_the_confirmation_offers_only_the_resolutions_of_the_orders_flag(desk_client):
    order = underpaid()

    page = desk_client.get(
        reverse("staffdesk:order_action", args=[order.reference, "resolve"])
    ).content.decode()

    assert "Remaining amount waived" in page
    assert "Chargeback acknowledged" not in page


@pytest.mark.parametrize(
    ("resolution", "reason"),
    [
        pytest.param(
            "patron_contacted", "Spoke to the patron", id="chargeback-choice-for-an-underpayment"
        ),
        pytest.param("rest_open", "", id="no-reason"),
    ],
)
def test_a_resolution_needs_a_choice_that_fits_the_flag_and_a_reason(
    desk_client, resolution, reason
):
    order = underpaid()

    response = resolve(desk_client, order, resolution, reason=reason)

    assert response.status_code == 400
    order.refresh_from_db()
    assert order.flag_resolved_at is None
    assert not StaffAction.objects.exists()


def test_an_order_without_a_flag_cannot_be_resolved_and_says_why(desk_client):
    order = make_order()

    resolve(desk_client, order, "rest_open")

    order.refresh_from_db()
    assert order.flag_resolved_at is None
    assert not StaffAction.objects.exists()
    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
    assert "Only an underpaid or charged-back order needs resolving." in page


def test_a_flag_is_resolved_once(desk_client):
    order = underpaid()

    resolve(desk_client, order, "rest_open")
    resolve(desk_client, order, "rest_waived")

    assert StaffAction.objects.count() == 1
    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
    assert "Resolved on" in page


def test_resolving_needs_its_own_permission(viewer):
    order = underpaid()

    response = resolve(viewer, order, "rest_open")

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.flag_resolved_at is None


def test_a_new_status_brings_a_resolved_order_back_to_the_attention_list(desk_client):
    order = underpaid()
    resolve(desk_client, order, "rest_open")

    services.payment_order_transition(
        order=order, status="Cancelation", source=EventSource.PROVIDER
    )

    order.refresh_from_db()
    assert (order.status, order.flag_resolved_at) == (OrderStatus.CHARGEBACK, None)
    assert attention_list(desk_client) == [order.reference]
    assert 'id="count-chargeback">1<' in home(desk_client)


def test_money_recorded_without_a_status_change_keeps_the_resolution(desk_client):
    order = underpaid()
    resolve(desk_client, order, "rest_open")

    services.payment_order_transition(
        order=order, status="Paid", source=EventSource.API, amount_cents=300
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.UNDERPAID
    assert order.flag_resolved_at is not None


def test_resolved_flags_are_outside_the_attention_index(desk_client):
    from payments.models import ATTENTION_STATES

    order = underpaid()
    resolve(desk_client, order, "rest_open")

    assert not PaymentOrder.objects.filter(pk=order.pk).filter(ATTENTION_STATES).exists()
    assert not PaymentOrder.objects.filter(needs_attention_q(now=timezone.now())).exists()


def test_every_flagged_status_offers_resolutions():
    assert set(FLAG_RESOLUTIONS) == set(FLAG_STATUSES)
    assert all(FLAG_RESOLUTIONS.values())


def test_desk_staff_group_may_resolve_flags():
    group = Group.objects.get(name="Desk staff")

    assert group.permissions.filter(codename="resolve_flag").exists()
