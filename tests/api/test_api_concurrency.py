"""The same payment reported several times at once is booked once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from fees.models import JournalEntry
from payments import services
from payments.api_keys import api_client_create
from tests.factories import FeeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def post_in_threads(count, path, body, key):
    barrier = threading.Barrier(count)

    def send(_):
        try:
            barrier.wait()
            return Client().post(
                path, body, content_type="application/json",
                headers={"Authorization": f"Bearer {key}"},
            )  # fmt: skip
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(send, range(count)))


def test_eight_concurrent_repeats_of_one_payment_book_it_once():
    _, key = api_client_create(name="campus card", scopes=["payments:write"])
    fee = FeeFactory(amount_cents=500)
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
    body = {"transaction_id": "CC-1", "order_reference": order.reference,
            "amount_cents": 500, "currency": "EUR"}  # fmt: skip

    responses = post_in_threads(8, "/api/v1/payments", body, key)

    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["payment_entry_id"] for r in responses}) == 1
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_eight_concurrent_repeats_of_one_fee_book_it_once():
    _, key = api_client_create(name="library system", scopes=["fees:write"])
    fee = FeeFactory(amount_cents=100)  # a patron to post to
    body = {"fee_id": "Z31-1", "user_number": fee.patron.user_number, "amount_cents": 250,
            "currency": "EUR", "description": "Overdue fine"}  # fmt: skip

    responses = post_in_threads(8, "/api/v1/fees", body, key)

    assert [r.status_code for r in responses] == [201] * 8
    assert JournalEntry.objects.filter(kind="fee", amount_cents=250).count() == 1
