"""Refunds through Stripe, against the fake Stripe HTTP layer: the real stripe-python code
paths for the Refunds API and real signed `refund.*` / `charge.refunded` webhooks."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from fees import services as ledger
from fees.models import Delivery, EntryKind, JournalEntry
from fees.selectors import balance_cents
from payments.models import OrderStatus, PaymentOrder, Refund, RefundStatus, UnmatchedProviderReport
from payments.services import refunds
from tests.payments.fake_stripe import dispute, event
from tests.payments.helpers import deliver

pytestmark = pytest.mark.django_db

PAYMENT = Refund.Source.PAYMENT
CREDIT = Refund.Source.CREDIT


@pytest.fixture
def paid_order(client, patron_client, fees, fake_stripe):
    """500 paid through Stripe for the first fee."""
    patron_client.post(reverse("payments:pay"), {"fee": [fees[0].pk]})
    order = PaymentOrder.objects.get()
    session = fake_stripe.complete(
        fake_stripe.session_for(order.reference)["id"], payment_intent="pi_paid"
    )
    deliver(client, event("checkout.session.completed", session))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def request(order, amount_cents, source=PAYMENT, staff=None):
    return refunds.refund_request(
        order=order, amount_cents=amount_cents, source=source, reason="Item found",
        staff_user=staff,
    )  # fmt: skip


@pytest.fixture
def refund(paid_order, staff):
    return lambda amount_cents, source=PAYMENT: request(paid_order, amount_cents, source, staff)


def reversed_cents():
    return sum(
        JournalEntry.objects.filter(kind=EntryKind.REVERSAL).values_list("amount_cents", flat=True)
    )


def refund_entries():
    return JournalEntry.objects.filter(kind=EntryKind.REFUND)


def stripe_refund_requests(fake_stripe):
    return [r for r in fake_stripe.requests if r["path"] == "/v1/refunds" and r["method"] == "POST"]


def test_a_confirmed_refund_is_booked_in_the_journal(refund, paid_order):
    made = refund(200)

    assert made.status == RefundStatus.SUCCEEDED
    entry = refund_entries().get()
    assert (entry.amount_cents, entry.booking_key) == (200, f"refund:{made.pk}")
    assert made.entry == entry
    assert entry.reference == paid_order.reference


def test_the_refund_goes_to_the_payment_intent_with_our_reference(refund, fake_stripe):
    made = refund(200)

    sent = stripe_refund_requests(fake_stripe)[0]
    assert sent["form"]["payment_intent"] == "pi_paid"
    assert sent["form"]["amount"] == "200"
    assert sent["form"]["metadata[refund_reference]"] == made.reference
    assert sent["headers"]["Idempotency-Key"] == f"epayment-refund-{made.reference}"
    assert made.provider_refund_id == next(iter(fake_stripe.refunds))


def test_part_of_a_payment_is_credited_first_so_the_balance_stays(refund, paid_order):
    before = balance_cents(patron=paid_order.patron)

    refund(200, PAYMENT)

    assert balance_cents(patron=paid_order.patron) == before
    credit = JournalEntry.objects.get(kind=EntryKind.CREDIT_NOTE)
    assert credit.amount_cents == -200


def test_a_refund_of_credit_books_no_credit_note(refund, paid_order, staff):
    ledger.credit_note_book(patron=paid_order.patron, amount_cents=1800, note="Goodwill")
    credit_before = -balance_cents(patron=paid_order.patron)  # 300

    refund(300, CREDIT)

    assert -balance_cents(patron=paid_order.patron) == credit_before - 300
    assert JournalEntry.objects.filter(kind=EntryKind.CREDIT_NOTE).count() == 1


def test_a_refund_of_more_credit_than_the_patron_has_is_refused(refund, paid_order):
    ledger.credit_note_book(patron=paid_order.patron, amount_cents=1600, note="Goodwill")

    with pytest.raises(ValidationError, match=r"credit of 1\.00"):
        refund(101, CREDIT)

    assert not Refund.objects.exists()


def test_more_than_was_paid_through_the_provider_is_refused(refund, fake_stripe):
    with pytest.raises(ValidationError, match=r"At most 5\.00"):
        refund(501)

    assert not Refund.objects.exists()
    assert not stripe_refund_requests(fake_stripe)


def test_what_was_refunded_before_is_no_longer_refundable(refund):
    refund(300)

    with pytest.raises(ValidationError, match=r"At most 2\.00"):
        refund(300)

    assert refunds.refundable_cents(Refund.objects.get().order) == 200


def test_a_disputed_payment_is_not_refunded_as_well(client, refund, paid_order):
    deliver(client, event("charge.dispute.created", dispute("pi_paid", amount=200)))

    with pytest.raises(ValidationError, match="disputed"):
        refund(100)

    assert not Refund.objects.exists()


def test_a_chargeback_after_a_partial_refund_reverses_the_disputed_amount(
    client, refund, paid_order
):
    refund(200)
    before = balance_cents(patron=paid_order.patron)

    deliver(client, event("charge.dispute.created", dispute("pi_paid", amount=300)))

    assert reversed_cents() == 300
    assert balance_cents(patron=paid_order.patron) == before + 300


def test_a_chargeback_never_reverses_more_than_refunds_left_of_the_payment(
    client, refund, paid_order
):
    refund(200)

    deliver(client, event("charge.dispute.created", dispute("pi_paid", amount=500)))

    assert reversed_cents() == 300


@pytest.mark.parametrize("amount", [0, -300, None, "300", True])
def test_a_dispute_without_a_positive_amount_reverses_what_is_left_of_the_payment(
    client, refund, paid_order, amount
):
    refund(200)

    deliver(client, event("charge.dispute.created", dispute("pi_paid", amount=amount)))

    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.CHARGEBACK
    assert reversed_cents() == 300


def test_a_bad_amount_or_missing_reason_records_nothing(paid_order, staff):
    for amount, reason in ((0, "why"), (-5, "why"), (True, "why"), ("100", "why"), (100, " ")):
        with pytest.raises(ValidationError):
            refunds.refund_request(
                order=paid_order, amount_cents=amount, source=PAYMENT, reason=reason,
                staff_user=staff,
            )  # fmt: skip

    assert not Refund.objects.exists()


def test_a_refund_stripe_declines_fails_and_books_nothing(refund, fake_stripe, paid_order):
    fake_stripe.refund_outcome = "failed"

    made = refund(200)

    assert made.status == RefundStatus.FAILED
    assert made.failure == "expired_or_canceled_card"
    assert not refund_entries().exists()
    assert refunds.refundable_cents(paid_order) == 500


def test_a_refund_stripe_refuses_to_make_fails_with_its_message(refund, fake_stripe):
    fake_stripe.refunds["re_dashboard"] = {  # refunded in Stripe's dashboard meanwhile
        "id": "re_dashboard", "object": "refund", "amount": 400, "payment_intent": "pi_paid",
        "status": "succeeded", "metadata": {},
    }  # fmt: skip

    made = refund(200)

    assert made.status == RefundStatus.FAILED
    assert "greater than unrefunded amount" in made.failure
    assert not refund_entries().exists()


def test_a_timeout_leaves_the_refund_requested_with_its_amount_spoken_for(
    refund, fake_stripe, paid_order
):
    fake_stripe.failure = "hang"

    made = refund(200)

    assert made.status == RefundStatus.REQUESTED
    assert not refund_entries().exists()
    assert refunds.refundable_cents(paid_order) == 300


def test_asking_again_after_a_timeout_sends_it_once(refund, fake_stripe):
    fake_stripe.failure = "hang"
    made = refund(200)
    fake_stripe.failure = None

    made = refunds.refund_ask_again(refund=made)

    assert made.status == RefundStatus.SUCCEEDED
    assert len(fake_stripe.refunds) == 1
    assert refund_entries().count() == 1


def test_asking_again_finds_a_refund_whose_answer_was_lost(refund, fake_stripe):
    fake_stripe.failure = "hang"
    made = refund(200)
    fake_stripe.failure = None
    # Stripe made it after all (the answer was lost): it holds it under our reference.
    fake_stripe.refunds["re_made"] = {
        "id": "re_made", "object": "refund", "amount": 200, "payment_intent": "pi_paid",
        "status": "succeeded", "metadata": {"refund_reference": made.reference},
    }  # fmt: skip
    sent_before = len(stripe_refund_requests(fake_stripe))

    made = refunds.refund_ask_again(refund=made)

    assert (made.status, made.provider_refund_id) == (RefundStatus.SUCCEEDED, "re_made")
    assert len(stripe_refund_requests(fake_stripe)) == sent_before
    assert refund_entries().count() == 1


def test_a_pending_refund_is_booked_when_refund_updated_arrives(client, refund, fake_stripe):
    fake_stripe.refund_outcome = "pending"
    made = refund(200)
    assert made.status == RefundStatus.REQUESTED

    stripe_refund = fake_stripe.set_refund_status(made.provider_refund_id, "succeeded")
    response = deliver(client, event("refund.updated", stripe_refund, event_id="evt_re_1"))

    made.refresh_from_db()
    assert response.status_code == 200
    assert made.status == RefundStatus.SUCCEEDED
    assert refund_entries().get().booking_key == f"refund:{made.pk}"
    assert list(made.events.values_list("status", "provider_event_id")) == [
        ("requested", ""), ("succeeded", "evt_re_1"),
    ]  # fmt: skip


def test_the_same_webhook_twice_books_once(client, refund, fake_stripe):
    fake_stripe.refund_outcome = "pending"
    made = refund(200)
    payload = event(
        "refund.updated", fake_stripe.set_refund_status(made.provider_refund_id, "succeeded")
    )

    first = deliver(client, payload)
    second = deliver(client, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert refund_entries().count() == 1
    assert made.events.count() == 2


def test_charge_refunded_asks_stripe_which_refunds_changed(client, refund, fake_stripe):
    fake_stripe.refund_outcome = "pending"
    made = refund(200)
    fake_stripe.set_refund_status(made.provider_refund_id, "succeeded")

    response = deliver(client, event("charge.refunded", fake_stripe.charge("pi_paid")))

    made.refresh_from_db()
    assert response.status_code == 200
    assert made.status == RefundStatus.SUCCEEDED
    assert refund_entries().count() == 1


def test_charge_refunded_and_refund_updated_for_one_refund_book_once(client, refund, fake_stripe):
    fake_stripe.refund_outcome = "pending"
    made = refund(200)
    stripe_refund = fake_stripe.set_refund_status(made.provider_refund_id, "succeeded")

    deliver(client, event("charge.refunded", fake_stripe.charge("pi_paid")))
    deliver(client, event("refund.updated", stripe_refund))

    assert refund_entries().count() == 1


def test_charge_refunded_while_stripe_cannot_be_asked_is_answered_503(client, refund, fake_stripe):
    fake_stripe.refund_outcome = "pending"
    made = refund(200)
    fake_stripe.set_refund_status(made.provider_refund_id, "succeeded")
    fake_stripe.failure = "500"

    response = deliver(client, event("charge.refunded", fake_stripe.charge("pi_paid")))

    made.refresh_from_db()
    assert response.status_code == 503
    assert made.status == RefundStatus.REQUESTED


def test_a_pending_refund_that_fails_frees_its_amount(client, refund, fake_stripe, paid_order):
    fake_stripe.refund_outcome = "pending"
    made = refund(200)

    deliver(
        client,
        event("refund.updated", fake_stripe.set_refund_status(made.provider_refund_id, "failed")),
    )

    made.refresh_from_db()
    assert made.status == RefundStatus.FAILED
    assert refunds.refundable_cents(paid_order) == 500
    assert not refund_entries().exists()


def test_a_refund_failing_after_it_succeeded_gives_the_patron_the_money_as_credit(
    client, refund, fake_stripe, paid_order
):
    made = refund(200, PAYMENT)
    balance_after_refund = balance_cents(patron=paid_order.patron)

    stripe_refund = fake_stripe.set_refund_status(made.provider_refund_id, "failed")
    deliver(client, event("refund.failed", stripe_refund))

    made.refresh_from_db()
    assert made.status == RefundStatus.FAILED
    assert balance_cents(patron=paid_order.patron) == balance_after_refund - 200
    assert JournalEntry.objects.get(booking_key=f"refund-failed:{made.pk}").amount_cents == -200


def test_a_refund_made_in_the_stripe_dashboard_is_kept_for_staff(client, paid_order, fake_stripe):
    stripe_refund = {
        "id": "re_dash", "object": "refund", "amount": 500, "payment_intent": "pi_paid",
        "status": "succeeded", "metadata": {},
    }  # fmt: skip

    response = deliver(client, event("refund.created", stripe_refund))

    assert response.status_code == 200
    report = UnmatchedProviderReport.objects.get()
    assert (report.payment_id, report.amount_cents) == ("pi_paid", 500)
    assert "not through the portal" in report.note
    assert not refund_entries().exists()


def test_a_refund_is_delivered_to_the_library_system(refund):
    made = refund(200)

    assert Delivery.objects.get(entry=made.entry).status == Delivery.Status.PENDING
