"""A caller's transaction id names one payment, whichever endpoint carried it."""

import pytest

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import MoneyReport
from tests.api.test_api import fee_body, payment_body
from tests.factories import FeeFactory, PatronFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patron():
    return PatronFactory(user_number="U-77", card_number="7700")


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def fee_with_payment(transaction_id="T-77", amount_cents=250):
    payment = {"transaction_id": transaction_id, "amount_cents": amount_cents, "method": "cash"}
    return fee_body(payment=payment)


def test_a_payment_posted_with_its_fee_and_reported_again_is_booked_once(call, key, patron):
    first = call("post", "/fees", fee_with_payment(), key)

    again = call(
        "post", "/payments", payment_body(transaction_id="T-77", user_number="U-77",
                                          amount_cents=250), key,
    )  # fmt: skip

    assert first.status_code == 201
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert again.json()["payment_entry_id"] == first.json()["payment_entry_id"]
    assert payments().count() == 1


def test_a_payment_reported_for_an_order_then_posted_with_a_fee_is_booked_once(call, key, patron):
    fee = FeeFactory(patron=patron, amount_cents=250)
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    call("post", "/payments",
         payment_body(transaction_id="T-77", order_reference=order.reference, amount_cents=250),
         key)  # fmt: skip

    response = call("post", "/fees", fee_with_payment(), key)

    assert response.status_code == 201
    assert payments().count() == 1
    assert MoneyReport.objects.get().order == order


def test_a_transaction_id_used_for_another_payment_is_a_conflict_and_changes_nothing(
    call, key, patron
):
    call("post", "/fees", fee_with_payment(), key)
    journal_before = list(JournalEntry.objects.values_list("pk", flat=True))

    response = call(
        "post", "/payments", payment_body(transaction_id="T-77", user_number="U-77",
                                          amount_cents=999), key,
    )  # fmt: skip

    assert response.status_code == 409
    assert list(JournalEntry.objects.values_list("pk", flat=True)) == journal_before


def test_each_api_client_has_its_own_transaction_ids(call, make_key, patron):
    for name in ("kiosk", "campus card"):
        call(
            "post", "/payments",
            payment_body(transaction_id="T-77", user_number="U-77"), make_key(name=name),
        )  # fmt: skip

    assert payments().count() == 2
