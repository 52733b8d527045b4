"""The desk's refund to the card: its own permission, the form, what the order page shows."""

import re
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from fees import services as ledger
from fees.models import EntryKind, JournalEntry
from payments.models import Refund, RefundStatus
from payments.providers.simulated import SimulatedProvider
from staffdesk.models import StaffAction
from tests.factories import WaitingRefundFactory
from tests.staffdesk.conftest import make_order, pay_simulated

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunder(client, staff):
    staff.user_permissions.add(Permission.objects.get(codename="refund_to_card"))
    client.force_login(staff)
    return client


def refund_url(order):
    return reverse("staffdesk:order_refund", args=[order.reference])


def post_refund(client, order, **data):
    fields = {"source": "payment", "amount": "3,00", "reason": "Charged twice"}
    fields.update(data)
    fields.setdefault("submission", str(uuid.uuid4()))
    return client.post(refund_url(order), fields)


def test_desk_staff_without_the_permission_cannot_refund(desk_client, paid_order):
    page = desk_client.get(reverse("staffdesk:order", args=[paid_order.reference]))

    assert desk_client.get(refund_url(paid_order)).status_code == 403
    assert post_refund(desk_client, paid_order).status_code == 403
    assert "refund-button" not in page.content.decode()
    assert not Refund.objects.exists()


def test_the_order_page_offers_the_refund_to_whom_may(refunder, paid_order):
    page = refunder.get(reverse("staffdesk:order", args=[paid_order.reference])).content.decode()

    assert 'id="refund-button"' in page


def test_the_form_shows_what_is_left_to_refund_and_the_credit(refunder, paid_order):
    page = refunder.get(refund_url(paid_order)).content.decode()

    assert "8.00 EUR" in page  # left of the payment
    assert 'id="credit">0.00 EUR' in page


def test_a_refund_from_the_desk_is_made_booked_and_audited(refunder, paid_order, staff):
    response = post_refund(refunder, paid_order)

    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.status, refund.amount_cents, refund.requested_by) == (
        RefundStatus.SUCCEEDED, 300, staff,
    )  # fmt: skip
    assert JournalEntry.objects.get(kind=EntryKind.REFUND).amount_cents == 300
    action = StaffAction.objects.get(kind=StaffAction.Kind.REFUND_TO_CARD)
    assert (action.refund, action.reason) == (refund, "Charged twice")
    page = refunder.get(response.url).content.decode()
    assert "3.00 EUR refunded to the card." in page
    assert refund.reference in page


def test_the_same_form_sent_twice_refunds_once(refunder, paid_order):
    submission = str(uuid.uuid4())

    post_refund(refunder, paid_order, submission=submission)
    post_refund(refunder, paid_order, submission=submission)

    assert Refund.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


def test_the_form_sent_again_with_another_amount_says_nothing_more_was_done(refunder, paid_order):
    submission = str(uuid.uuid4())
    post_refund(refunder, paid_order, submission=submission)

    response = post_refund(refunder, paid_order, submission=submission, amount="4,00")

    page = refunder.get(response.url).content.decode()
    assert "This form was sent before, so nothing more was done." in page
    assert [refund.amount_cents for refund in Refund.objects.all()] == [300]


def test_more_than_is_left_is_refused_with_a_message_and_changes_nothing(refunder, paid_order):
    response = post_refund(refunder, paid_order, amount="8.01")

    assert response.status_code == 400
    assert "At most 8.00 EUR of this payment can still be refunded." in response.content.decode()
    assert not Refund.objects.exists()
    assert not StaffAction.objects.exists()


def test_credit_the_patron_does_not_have_is_refused(refunder, paid_order):
    response = post_refund(refunder, paid_order, source="credit", amount="1")

    assert response.status_code == 400
    assert "Only the patron&#x27;s credit of 0.00 EUR can be refunded." in response.content.decode()
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{"amount": ""}, {"amount": "abc"}, {"amount": "0"}, {"reason": ""}, {"source": "cash"}],
)
def test_bad_input_is_refused_and_changes_nothing(refunder, paid_order, data):
    response = post_refund(refunder, paid_order, **data)

    assert response.status_code == 400
    assert not Refund.objects.exists()


def test_a_provider_without_refunds_leaves_only_the_counter(refunder, paid_order, monkeypatch):
    monkeypatch.setattr(SimulatedProvider, "supports_refunds", False)

    page = refunder.get(reverse("staffdesk:order", args=[paid_order.reference])).content.decode()
    response = post_refund(refunder, paid_order)

    assert 'id="refund-button"' not in page
    assert "cannot refund through the portal: refund at the counter." in page
    assert "#counter" in page
    assert response.status_code == 400
    assert not Refund.objects.exists()


def test_asking_again_settles_a_refund_waiting_for_the_provider(refunder, paid_order, staff):
    refund = WaitingRefundFactory(order=paid_order, requested_by=staff)
    page = refunder.get(reverse("staffdesk:order", args=[paid_order.reference])).content.decode()
    assert "Ask the provider again" in page

    refunder.post(
        reverse("staffdesk:refund_ask_again", args=[paid_order.reference, refund.reference])
    )

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert StaffAction.objects.get(kind=StaffAction.Kind.ASK_REFUND_AGAIN).refund == refund


def test_asking_again_needs_the_permission(desk_client, paid_order, staff):
    refund = WaitingRefundFactory(order=paid_order, requested_by=staff)

    response = desk_client.post(
        reverse("staffdesk:refund_ask_again", args=[paid_order.reference, refund.reference])
    )

    assert response.status_code == 403
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED


def test_asking_again_about_another_orders_refund_is_not_found(refunder, paid_order):
    other = pay_simulated(make_order(amount_cents=500))
    refund = WaitingRefundFactory(order=other)

    response = refunder.post(
        reverse("staffdesk:refund_ask_again", args=[paid_order.reference, refund.reference])
    )

    assert response.status_code == 404
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED


def test_a_patron_with_credit_is_offered_a_refund_of_it_to_a_paid_orders_card(refunder, paid_order):
    ledger.credit_note_book(patron=paid_order.patron, amount_cents=400, note="Goodwill")
    url = reverse("staffdesk:patron", args=[paid_order.patron.user_number])

    page = refunder.get(url).content.decode()
    form = refunder.get(f"{refund_url(paid_order)}?source=credit").content.decode()

    assert f"{refund_url(paid_order)}?source=credit" in page
    assert re.search(r'value="credit"[^>]*checked', form)


def test_a_patron_without_credit_is_offered_no_refund_of_credit(refunder, paid_order):
    page = refunder.get(reverse("staffdesk:patron", args=[paid_order.patron.user_number]))

    assert "Refund credit to this card" not in page.content.decode()


def test_the_order_page_says_refunding_needs_the_permission(desk_client, paid_order):
    page = desk_client.get(reverse("staffdesk:order", args=[paid_order.reference])).content.decode()

    assert 'id="refund-needs-permission"' in page
    assert "needs the permission" in page


def test_the_order_page_shows_past_refunds_to_staff_without_the_permission(
    desk_client, paid_order, staff
):
    refund = WaitingRefundFactory(order=paid_order, requested_by=staff)

    page = desk_client.get(reverse("staffdesk:order", args=[paid_order.reference])).content.decode()

    assert refund.reference in page


def test_the_form_defaults_to_the_payment_when_the_patron_has_no_credit(refunder, paid_order):
    form = refunder.get(refund_url(paid_order)).content.decode()

    assert re.search(r'value="payment"[^>]*checked', form)


def test_the_form_offers_no_credit_when_the_patron_has_none(refunder, paid_order):
    form = refunder.get(f"{refund_url(paid_order)}?source=credit").content.decode()

    assert 'value="credit"' not in form
    assert re.search(r'value="payment"[^>]*checked', form)


def test_the_form_defaults_to_the_credit_when_the_patron_has_some(refunder, paid_order):
    ledger.credit_note_book(patron=paid_order.patron, amount_cents=400, note="Goodwill")

    form = refunder.get(refund_url(paid_order)).content.decode()

    assert re.search(r'value="credit"[^>]*checked', form)
