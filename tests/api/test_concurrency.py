"""The same write several times at once: a payment or a fee booked once, a patron created
once, and every call answered as if it had come alone."""

import time

import pytest
from django.test import Client

from accounts.models import Patron
from fees.models import JournalEntry
from payments import services
from payments.api import patrons
from payments.api_keys import api_client_create
from payments.models import EventSource
from tests.factories import FeeFactory
from tests.threads import barrier, run_in_threads, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def send_in_threads(count, path, body, key, method="post"):
    def send(_):
        return getattr(Client(), method)(
            path, body, content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip

    return run_in_threads(count, send)


def test_eight_concurrent_repeats_of_one_payment_book_it_once():
    _, key = api_client_create(name="campus card", scopes=["payments:write"])
    fee = FeeFactory(amount_cents=500)
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
    body = {"transaction_id": "CC-1", "order_reference": order.reference,
            "amount_cents": 500, "currency": "EUR"}  # fmt: skip

    responses = send_in_threads(8, "/api/v1/payments", body, key)

    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["payment_entry_id"] for r in responses}) == 1
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_eight_concurrent_repeats_of_one_fee_book_it_once():
    _, key = api_client_create(name="library system", scopes=["fees:write"])
    fee = FeeFactory(amount_cents=100)  # a patron to post to
    body = {"fee_id": "Z31-1", "user_number": fee.patron.user_number, "amount_cents": 250,
            "currency": "EUR", "description": "Overdue fine"}  # fmt: skip

    responses = send_in_threads(8, "/api/v1/fees", body, key)

    assert [r.status_code for r in responses] == [201] * 8
    assert JournalEntry.objects.filter(kind="fee", amount_cents=250).count() == 1


def _kiosk_and_provider_pay_at_once(key, order, transaction_id):
    body = {"transaction_id": transaction_id, "order_reference": order.reference,
            "amount_cents": 500, "currency": "EUR"}  # fmt: skip

    def kiosk():
        response = Client().post(
            "/api/v1/payments", body, content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
        return response.status_code

    def provider():
        services.payment_order_transition(
            order=order, status="Paid", source=EventSource.PROVIDER, amount_cents=500,
            provider_event_id=f"evt_{transaction_id}",
        )  # fmt: skip

    kiosk_answer, _ = run_together(kiosk, provider)
    return kiosk_answer


def test_a_kiosk_payment_racing_the_providers_paid_is_never_lost():
    """Two real payments for one order: one is booked, the other flagged for staff."""
    _, key = api_client_create(name="kiosk", scopes=["payments:write"])
    for round_ in range(10):
        fee = FeeFactory(amount_cents=500)
        order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])

        status = _kiosk_and_provider_pay_at_once(key, order, f"KIOSK-{round_}")

        order.refresh_from_db()
        assert status in (200, 201)
        assert JournalEntry.objects.filter(reference=order.reference).count() == 1
        held = order.money_reports.awaiting_staff().values_list("amount_cents", flat=True)
        assert list(held) == [500], f"round {round_}: a payment went unrecorded"


def test_one_transaction_id_through_two_endpoints_at_once_is_booked_once():
    _, key = api_client_create(name="library system", scopes=["fees:write", "payments:write"])
    patron = FeeFactory(amount_cents=100).patron
    fee = {"fee_id": "Z31-2", "user_number": patron.user_number, "amount_cents": 250,
           "currency": "EUR", "description": "Overdue fine",
           "payment": {"transaction_id": "T-77", "amount_cents": 250}}  # fmt: skip
    payment = {"transaction_id": "T-77", "user_number": patron.user_number,
               "amount_cents": 250, "currency": "EUR"}  # fmt: skip

    def send(path, body):
        return Client().post(
            path, body, content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        ).status_code  # fmt: skip

    answers = run_together(
        lambda: send("/api/v1/fees", fee), lambda: send("/api/v1/payments", payment)
    )

    assert set(answers) <= {200, 201}
    assert JournalEntry.objects.filter(kind="payment").count() == 1


UPSERT = {"card_number": "5500", "last_name": "Lind", "external_id": "4711"}


def put_new_patron_twice_at_once(monkeypatch, before_create):
    """Both PUTs look for the patron and find none; each then runs `before_create(index)`
    (0 or 1, one each) and creates it."""
    _, key = api_client_create(name="library system", scopes=["fees:write"])
    both_looked = barrier(2, timeout=10)
    create = patrons.patron_create

    def create_after_both_looked(**fields):
        before_create(both_looked.wait())
        return create(**fields)

    monkeypatch.setattr(patrons, "patron_create", create_after_both_looked)
    return send_in_threads(2, "/api/v1/patrons/U-5", UPSERT, key, method="put")


def assert_created_once_and_both_answered_with_it(responses):
    assert sorted(r.status_code for r in responses) == [200, 201], [r.content for r in responses]
    assert responses[0].json() == responses[1].json()
    assert responses[0].json()["external_id"] == "4711"
    assert Patron.objects.filter(user_number="U-5").count() == 1


@pytest.mark.postgres_only
def test_two_puts_inserting_a_new_patron_at_once_create_it_once(monkeypatch):
    responses = put_new_patron_twice_at_once(monkeypatch, before_create=lambda index: None)

    assert_created_once_and_both_answered_with_it(responses)


@pytest.mark.postgres_only
def test_a_put_whose_patron_was_created_after_it_looked_updates_it(monkeypatch):
    def second_waits_for_the_first_to_commit(index):
        deadline = time.monotonic() + 10
        while index and time.monotonic() < deadline:
            if Patron.objects.filter(user_number="U-5").exists():  # read committed
                return
            time.sleep(0.01)

    responses = put_new_patron_twice_at_once(
        monkeypatch, before_create=second_waits_for_the_first_to_commit
    )

    assert_created_once_and_both_answered_with_it(responses)
