"""The desk shows where each payment stands with the library system, and lets staff send a
refused one again or resolve it by hand (audited, behind a permission)."""

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from fees import services as ledger
from fees.models import Delivery
from staffdesk.models import StaffAction
from tests.factories import PatronFactory
from tests.staffdesk.conftest import make_order, refused_delivery

pytestmark = pytest.mark.django_db

Status = Delivery.Status


@pytest.fixture
def refused():
    return refused_delivery(PatronFactory())


@pytest.fixture
def library_system(settings):
    """A library system the worker sends deliveries to."""
    settings.LIBRARY_SYSTEM_TARGET = "webhook"


@pytest.fixture
def no_library_system(settings):
    settings.LIBRARY_SYSTEM_TARGET = ""


def act(client, delivery, action, reason=""):
    return client.post(
        reverse("staffdesk:deliveries"),
        {"delivery": delivery.pk, "action": action, "reason": reason,
         "submission": str(uuid.uuid4())},
    )  # fmt: skip


def test_the_list_shows_a_refused_delivery_with_its_error(desk_client, refused):
    page = desk_client.get(reverse("staffdesk:deliveries")).content.decode()

    assert refused.key in page and "422 unknown account line" in page


def test_the_start_page_counts_refused_deliveries(desk_client, refused):
    page = desk_client.get(reverse("staffdesk:home")).content.decode()

    assert 'id="count-deliveries-failed">1<' in page


def test_send_again_makes_it_due_now_and_is_audited(desk_client, refused, staff, library_system):
    act(desk_client, refused, "retry_delivery")

    refused.refresh_from_db()
    assert refused.status == Status.PENDING
    action = StaffAction.objects.get(kind=StaffAction.Kind.RETRY_DELIVERY)
    assert action.staff_user == staff and action.journal_entry_id == refused.entry_id


def test_resolved_by_hand_needs_a_note(desk_client, refused):
    act(desk_client, refused, "resolve_delivery")
    refused.refresh_from_db()
    assert refused.status == Status.FAILED

    act(desk_client, refused, "resolve_delivery", reason="Entered in Koha by hand")
    refused.refresh_from_db()
    assert refused.status == Status.RESOLVED


def test_a_delivery_being_sent_is_shown_so_and_cannot_be_resolved_meanwhile(desk_client):
    payment = ledger.payment_book(patron=PatronFactory(), amount_cents=500, method="cash")
    Delivery.objects.filter(entry=payment).update(
        attempts=1, claimed_until=timezone.now() + datetime.timedelta(minutes=5)
    )
    sending = Delivery.objects.get(entry=payment)

    response = act(desk_client, sending, "resolve_delivery", reason="Entered in Koha by hand")
    page = desk_client.get(response.url).content.decode()

    assert "being sent now" in page and "being sent right now: try again after" in page
    sending.refresh_from_db()
    assert sending.status == Status.PENDING


def test_a_viewer_cannot_act_on_deliveries(viewer, refused):
    response = act(viewer, refused, "retry_delivery")

    assert response.status_code == 403
    refused.refresh_from_db()
    assert refused.status == Status.FAILED


def test_the_order_page_says_whether_its_payment_is_in_the_library_system(desk_client):
    from payments import services

    order = make_order()
    services.payment_order_transition(order=order, status="Paid", source="provider")

    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()

    assert "Waiting to be sent" in page


def test_the_patron_journal_shows_each_payments_delivery(desk_client, refused):
    patron = refused.entry.patron

    page = desk_client.get(reverse("staffdesk:patron", args=[patron.user_number]))

    assert "Refused: waits for staff" in page.content.decode()


def test_the_same_form_sent_twice_acts_once(desk_client, refused, library_system):
    token = str(uuid.uuid4())
    for _ in range(2):
        desk_client.post(
            reverse("staffdesk:deliveries"),
            {"delivery": refused.pk, "action": "retry_delivery", "submission": token},
        )

    assert StaffAction.objects.filter(kind=StaffAction.Kind.RETRY_DELIVERY).count() == 1


def test_an_unknown_delivery_is_not_found_and_changes_nothing(desk_client, refused):
    response = desk_client.post(
        reverse("staffdesk:deliveries"),
        {"delivery": 999999, "action": "retry_delivery", "submission": str(uuid.uuid4())},
    )

    assert response.status_code == 404
    assert not StaffAction.objects.exists()


def test_send_again_without_a_library_system_says_nothing_was_sent(
    desk_client, refused, no_library_system
):
    response = act(desk_client, refused, "retry_delivery")
    page = desk_client.get(response.url).content.decode()

    assert "No library system is configured" in page and "nothing was sent" in page
    assert "Done." not in page
    refused.refresh_from_db()
    assert (refused.status, refused.attempts) == (Status.FAILED, 1)
    assert not StaffAction.objects.exists()


def test_send_again_says_when_it_will_be_sent(desk_client, refused, library_system):
    response = act(desk_client, refused, "retry_delivery")
    page = desk_client.get(response.url).content.decode()

    assert "is sent again at the delivery worker&#x27;s next run" in page


def test_the_list_offers_no_send_again_without_a_library_system(
    desk_client, refused, no_library_system
):
    page = desk_client.get(reverse("staffdesk:deliveries")).content.decode()

    assert 'value="retry_delivery"' not in page
    assert 'value="resolve_delivery"' in page
    assert "No library system is configured" in page


def test_a_delivery_resolved_by_hand_shows_its_note(desk_client, refused):
    act(desk_client, refused, "resolve_delivery", reason="Entered in Koha by hand")

    page = desk_client.get(reverse("staffdesk:deliveries")).content.decode()

    assert "Entered in Koha by hand" in page


def test_the_patron_audit_shows_delivery_statuses_by_their_labels(desk_client, refused):
    act(desk_client, refused, "resolve_delivery", reason="Entered in Koha by hand")
    patron = refused.entry.patron

    page = desk_client.get(reverse("staffdesk:patron", args=[patron.user_number]))

    audit = page.content.decode().split('id="audit"')[1]
    assert "Refused: waits for staff → Resolved by hand" in audit
    assert "failed →" not in audit


def test_the_patron_audit_shows_delivery_statuses_in_german(desk_client, refused):
    act(desk_client, refused, "resolve_delivery", reason="In Koha von Hand gebucht")
    patron = refused.entry.patron

    page = desk_client.get(
        reverse("staffdesk:patron", args=[patron.user_number]), headers={"accept-language": "de"}
    )

    audit = page.content.decode().split('id="audit"')[1]
    assert "→ Von Hand erledigt" in audit
