"""Chargebacks always find their payment, whichever way the order was paid; a dispute
the portal cannot match is kept for staff, never answered 200 and dropped."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import OrderStatus, PaymentOrder, UnmatchedProviderReport
from tests.factories import DeskStaffFactory
from tests.payments.fake_stripe import dispute, event
from tests.payments.helpers import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_order(patron_client, fees, fake_stripe):
    patron_client.post(reverse("payments:pay"), {"fee": [fees[0].pk]})
    order = PaymentOrder.objects.get()
    PaymentOrder.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=10)
    )
    order.refresh_from_db()
    return order


def completed_by_staff(order):
    return services.order_complete(order=order, staff_user=DeskStaffFactory(), reason="bank")


def reversals():
    return JournalEntry.objects.filter(kind=EntryKind.REVERSAL)


def test_a_dispute_for_an_order_completed_by_staff_reverses_its_payment(
    client, old_order, fake_stripe
):
    completed_by_staff(old_order)  # no Paid webhook ever came; the provider is not asked
    session = fake_stripe.complete(
        fake_stripe.session_for(old_order.reference)["id"], payment_intent="pi_never_learnt"
    )
    assert session["payment_intent"] == "pi_never_learnt"

    response = deliver(client, event("charge.dispute.created", dispute("pi_never_learnt")))

    old_order.refresh_from_db()
    assert response.status_code == 200
    assert old_order.status == OrderStatus.CHARGEBACK
    assert old_order.provider_payment_id == "pi_never_learnt"
    assert reversals().get().amount_cents == 500


def test_staff_completion_asks_the_provider_and_learns_the_payment_id(
    old_order, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.complete(
        fake_stripe.session_for(old_order.reference)["id"], payment_intent="pi_learnt"
    )

    with django_capture_on_commit_callbacks(execute=True):
        completed_by_staff(old_order)

    old_order.refresh_from_db()
    assert old_order.provider_payment_id == "pi_learnt"
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert old_order.money_reports.get().external_id == old_order.provider_transaction_id


def test_a_dispute_nobody_can_match_is_kept_for_staff(client, desk_client, fake_stripe):
    response = deliver(
        client, event("charge.dispute.created", dispute("pi_unknown"), event_id="evt_dp_1")
    )

    assert response.status_code == 200
    report = UnmatchedProviderReport.objects.get()
    assert (report.status, report.payment_id) == (OrderStatus.CHARGEBACK, "pi_unknown")
    page = desk_client.get(reverse("staffdesk:provider_reports")).content.decode()
    assert "pi_unknown" in page
    home = desk_client.get(reverse("staffdesk:home")).content.decode()
    assert 'id="count-unmatched">1<' in home


def test_the_same_unmatched_dispute_twice_is_kept_once(client, fake_stripe):
    payload = event("charge.dispute.created", dispute("pi_unknown"), event_id="evt_dp_2")
    deliver(client, payload)
    deliver(client, payload)

    assert UnmatchedProviderReport.objects.count() == 1


def test_a_dispute_waits_for_stripe_when_stripe_cannot_be_asked(client, fake_stripe):
    fake_stripe.failure = "500"

    response = deliver(client, event("charge.dispute.created", dispute("pi_unknown")))

    assert response.status_code == 503  # Stripe delivers it again later
    assert not UnmatchedProviderReport.objects.exists()


def test_staff_resolve_an_unmatched_report_with_a_reason(client, desk_client, fake_stripe):
    deliver(client, event("charge.dispute.created", dispute("pi_unknown")))
    report = UnmatchedProviderReport.objects.get()

    desk_client.post(
        reverse("staffdesk:provider_reports"),
        {"report": report.pk, "reason": "Payment of the library shop, not the portal"},
    )

    report.refresh_from_db()
    assert report.resolved_at is not None and report.resolved_by.username == "desk7"
    assert "library shop" in report.resolution
