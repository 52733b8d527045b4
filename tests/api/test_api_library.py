"""The library system's side of the API: patrons kept up to date, fees corrected, cancelled
and re-sent as a whole set (the feed of money movements: test_api_feed)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Patron
from fees import services as ledger
from fees.models import EntryKind, JournalEntry
from tests.api.test_api import fee_body
from tests.factories import PASSWORD, PatronFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patron():
    return PatronFactory(user_number="U-77", card_number="7700")


def patron_body(**overrides):
    return {"card_number": "7700", "last_name": "Roth", "first_name": "Eva",
            "email": "eva@example.org", "external_id": "4711"} | overrides  # fmt: skip


def journal():
    return list(JournalEntry.objects.order_by("pk").values_list("pk", "kind", "amount_cents"))


def logs_in(card_number):
    client = Client()
    client.post(reverse("accounts:login"), {"username": card_number, "password": PASSWORD})
    return "_auth_user_id" in client.session


def test_put_patron_creates_it(call, key):
    response = call("put", "/patrons/U-88", patron_body(card_number="8800"), key)

    assert response.status_code == 201
    assert Patron.objects.get(user_number="U-88").external_id == "4711"


def test_put_patron_takes_a_replaced_card_the_old_one_no_longer_logs_in(call, key, patron):
    patron.user.set_password(PASSWORD)
    patron.user.save()
    assert logs_in("7700")

    response = call("put", "/patrons/U-77", patron_body(card_number="7701"), key)

    assert response.status_code == 200 and response.json()["card_number"] == "7701"
    assert logs_in("7701") and not logs_in("7700")


def test_put_patron_twice_with_the_same_data_changes_nothing(call, key, patron):
    first = call("put", "/patrons/U-77", patron_body(), key).json()

    second = call("put", "/patrons/U-77", patron_body(), key)

    assert second.status_code == 200 and second.json() == first


def test_put_patron_with_a_card_of_another_patron_is_refused(call, key, patron):
    PatronFactory(user_number="U-99", card_number="9900")

    response = call("put", "/patrons/U-77", patron_body(card_number="9900"), key)

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "card_number"
    patron.refresh_from_db()
    assert patron.card_number == "7700"


def posted_fee(call, key, fee_id="K-1", amount_cents=1000):
    return call("post", "/fees", fee_body(fee_id=fee_id, amount_cents=amount_cents), key)


def test_a_posted_fee_keeps_its_library_system_id(call, key, patron):
    posted_fee(call, key)

    fee = JournalEntry.objects.get(kind=EntryKind.FEE)
    assert fee.external_id == "K-1"


def test_patch_fee_lowers_it_with_a_new_entry(call, key, patron):
    posted_fee(call, key)

    response = call("patch", "/fees/K-1", {"amount_cents": 600, "reason": "price list"}, key)

    body = response.json()
    assert response.status_code == 200
    assert (body["charged_before_cents"], body["charged_cents"]) == (1000, 600)
    assert JournalEntry.objects.get(pk=body["booked_entry_id"]).kind == EntryKind.REDUCTION


def test_cancel_fee_says_what_was_paid_already(call, key, patron):
    posted_fee(call, key)
    fee = JournalEntry.objects.get(kind=EntryKind.FEE)
    ledger.payment_book(patron=patron, amount_cents=300, for_fees=[fee], method="cash")

    response = call("post", "/fees/K-1/cancel", {"reason": "lost item found"}, key)

    assert response.json()["already_paid_cents"] == 300


def test_correcting_an_unknown_fee_is_not_found_and_changes_nothing(call, key, patron):
    before = journal()

    response = call("patch", "/fees/K-404", {"amount_cents": 1, "reason": "x"}, key)

    assert response.status_code == 404 and journal() == before


def test_a_negative_or_loose_amount_is_refused(call, key, patron):
    posted_fee(call, key)
    before = journal()

    for amount in (-1, "600", True, 6.0):
        response = call("patch", "/fees/K-1", {"amount_cents": amount, "reason": "x"}, key)
        assert response.status_code == 422, amount

    assert journal() == before


def sync_item(fee_id, amount_cents):
    return {"fee_id": fee_id, "amount_cents": amount_cents, "currency": "EUR",
            "description": "Overdue fine"}  # fmt: skip


def test_sync_answers_what_changed(call, key, patron):
    posted_fee(call, key, "K-1")
    posted_fee(call, key, "K-2")

    response = call(
        "put", "/patrons/U-77/fees", {"fees": [sync_item("K-1", 1000), sync_item("K-3", 50)]},
        key,
    )  # fmt: skip

    body = response.json()
    assert response.status_code == 200
    assert body["booked"] == ["K-3"] and body["unchanged"] == ["K-1"]
    assert [c["fee_id"] for c in body["cancelled"]] == ["K-2"]


def test_sync_with_a_bad_fee_changes_nothing(call, key, patron):
    posted_fee(call, key, "K-1")
    before = journal()

    response = call(
        "put", "/patrons/U-77/fees",
        {"fees": [sync_item("K-5", 100), sync_item("K-6", 100) | {"currency": "USD"}]}, key,
    )  # fmt: skip

    assert response.status_code == 422 and journal() == before
