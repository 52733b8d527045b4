"""Fees and overdue loans (payments.api.fees): posted with or without their payment,
idempotent by fee id, corrected, cancelled, re-sent as the whole set; the fee type a code
from the portal's fee types table, checked with the request."""

import datetime

import pytest
from django.utils import timezone

from fees import services as ledger
from fees.models import EntryKind, JournalEntry, Loan, Owner
from tests.api.helpers import fee_body, journal, posted_fee, sync_item
from tests.factories import FeeKindFactory, OwnerFactory, PatronFactory

pytestmark = pytest.mark.django_db


# --- POST /fees -----------------------------------------------------------------------


def test_fee_is_booked_for_the_patron(call, key, patron):
    response = call("post", "/fees", fee_body(), key)

    assert response.status_code == 201
    entry = JournalEntry.objects.get(pk=response.json()["entry_id"])
    assert (entry.patron, entry.kind, entry.amount_cents, entry.item) == (
        patron, EntryKind.FEE, 250, "Faust I",
    )  # fmt: skip


def test_same_fee_id_with_same_content_answers_as_before_and_books_once(call, key, patron):
    first = call("post", "/fees", fee_body(), key)

    second = call("post", "/fees", fee_body(), key)

    assert (second.status_code, second.json()) == (201, first.json())
    assert JournalEntry.objects.count() == 1


def test_same_fee_id_with_other_content_is_a_conflict(call, key, patron):
    call("post", "/fees", fee_body(), key)

    response = call("post", "/fees", fee_body(amount_cents=999), key)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert JournalEntry.objects.get().amount_cents == 250


def test_fee_with_its_payment_books_both_or_nothing(call, key, patron):
    body = fee_body(payment={"transaction_id": "KIOSK-1", "amount_cents": 250, "method": "cash"})

    response = call("post", "/fees", body, key)

    payment = JournalEntry.objects.get(pk=response.json()["payment_entry_id"])
    assert payment.amount_cents == -250
    assert list(payment.for_fees.values_list("pk", flat=True)) == [response.json()["entry_id"]]


def test_fee_whose_payment_is_invalid_is_not_booked_either(call, key, patron):
    body = fee_body(payment={"transaction_id": "KIOSK-1", "amount_cents": 0})

    response = call("post", "/fees", body, key)

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "payment.amount_cents"
    assert journal() == []


def test_fee_for_an_unknown_patron_is_not_found(call, key):
    response = call("post", "/fees", fee_body(user_number="U-404"), key)

    assert response.status_code == 404
    assert journal() == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount_cents": 0}, "amount_cents"),
        ({"amount_cents": -5}, "amount_cents"),
        ({"amount_cents": "twelve"}, "amount_cents"),
        ({"amount_cents": 2.5}, "amount_cents"),
        ({"currency": "usd"}, "currency"),
        ({"fee_type": "parking"}, "fee_type"),
        ({"description": ""}, "description"),
        ({"fee_id": ""}, "fee_id"),
    ],
)
def test_invalid_fees_name_the_field_and_change_nothing(call, key, patron, overrides, field):
    response = call("post", "/fees", fee_body(**overrides), key)

    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert journal() == []


def test_fee_in_another_currency_is_refused(call, key, patron):
    response = call("post", "/fees", fee_body(currency="USD"), key)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "currency", "message": "Only amounts in EUR can be booked."}
    ]
    assert journal() == []


def test_a_posted_fee_keeps_its_library_system_id(call, key, patron):
    posted_fee(call, key)

    fee = JournalEntry.objects.get(kind=EntryKind.FEE)
    assert fee.external_id == "K-1"


# --- fee types ------------------------------------------------------------------------


def fields(response):
    return [field["field"] for field in response.json()["error"]["fields"]]


def test_post_fee_accepts_a_fee_type_added_by_staff(call, key, patron):
    FeeKindFactory(code="COPIES")

    response = call("post", "/fees", fee_body(fee_type="COPIES"), key)

    assert response.status_code == 201
    assert JournalEntry.objects.get().fee_type == "COPIES"


def test_post_fee_with_an_unknown_fee_type_is_422_naming_the_field(call, key, patron):
    response = call("post", "/fees", fee_body(fee_type="parking"), key)

    assert response.status_code == 422
    assert fields(response) == ["fee_type"]
    assert not JournalEntry.objects.exists()


def test_sync_with_an_unknown_fee_type_is_422_naming_the_item_field(call, key, patron):
    response = call(
        "put", "/patrons/U-77/fees", {"fees": [sync_item("K-1", 100) | {"fee_type": "nope"}]}, key
    )

    assert response.status_code == 422
    assert fields(response) == ["fees.0.fee_type"]
    assert not JournalEntry.objects.exists()


def test_openapi_describes_fee_type_as_a_string(client):
    schema = client.get("/api/v1/openapi.json").json()

    fee_type = schema["components"]["schemas"]["FeeIn"]["properties"]["fee_type"]
    assert fee_type["type"] == "string"
    assert fee_type["maxLength"] == 16


# --- corrections and cancellations ----------------------------------------------------


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


# --- the whole set: PUT /patrons/{user_number}/fees -----------------------------------


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


# A fee id names one fee of one patron in its library system: the whole-set sync of
# another patron that names it is refused, and changes nothing.


def test_sync_naming_another_patrons_fee_is_a_conflict_naming_it_and_writes_nothing(call, key):
    PatronFactory(user_number="U-77", card_number="7700")  # fee_body's patron: A
    PatronFactory(user_number="U-78", card_number="7800")  # B
    assert posted_fee(call, key, "K-1").status_code == 201
    before = journal()

    response = call(
        "put", "/patrons/U-78/fees", {"fees": [sync_item("K-2", 300), sync_item("K-1", 1000)]}, key
    )

    assert response.status_code == 409, response.content
    assert response["Content-Type"].split(";")[0] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "conflict" and "K-1" in error["message"]
    assert journal() == before


# --- overdue loans --------------------------------------------------------------------


def test_overdue_loans_are_replaced_and_show_as_accruing_fines(call, key, patron):
    Loan.objects.create(patron=patron, item="Old", due_date=datetime.date(2026, 1, 1),
                        daily_fine_cents=10, fine_cap_cents=100, currency="EUR")  # fmt: skip
    due = timezone.localdate() - datetime.timedelta(days=4)
    body = {"loans": [{"item": "Momo", "due_date": due.isoformat(), "daily_fine_cents": 50,
                       "fine_cap_cents": 1000, "currency": "EUR"}]}  # fmt: skip

    response = call("put", "/patrons/U-77/overdue-loans", body, key)

    assert response.status_code == 200
    assert response.json()["accruing_fines"] == [
        {"item": "Momo", "due_date": due.isoformat(), "fine_cents": 200}
    ]
    assert list(Loan.objects.values_list("item", flat=True)) == ["Momo"]
    assert response.json()["balance_cents"] == 0


@pytest.mark.parametrize(
    ("loan", "field"),
    [
        ({"currency": "USD"}, "loans.0.currency"),
        ({"daily_fine_cents": -1}, "loans.0.daily_fine_cents"),
        ({"due_date": "soon"}, "loans.0.due_date"),
        ({"item": ""}, "loans.0.item"),
    ],
)
def test_invalid_loans_name_the_field_and_keep_the_old_set(call, key, patron, loan, field):
    Loan.objects.create(patron=patron, item="Old", due_date=datetime.date(2026, 1, 1),
                        daily_fine_cents=10, fine_cap_cents=100, currency="EUR")  # fmt: skip
    body = {"loans": [{"item": "Momo", "due_date": "2026-11-01", "daily_fine_cents": 50,
                       "fine_cap_cents": 1000, "currency": "EUR"} | loan]}  # fmt: skip

    response = call("put", "/patrons/U-77/overdue-loans", body, key)

    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert list(Loan.objects.values_list("item", flat=True)) == ["Old"]


# --- Owners ---------------------------------------------------------------------------


def test_a_fee_names_its_owner_by_the_library_systems_code(call, key, patron):
    branch = OwnerFactory(code="BRANCH-N")

    response = call("post", "/fees", fee_body(owner="BRANCH-N"), key)

    assert JournalEntry.objects.get(pk=response.json()["entry_id"]).owner == branch


def test_a_fee_that_names_no_owner_is_the_default_owners(call, key, patron):
    response = call("post", "/fees", fee_body(), key)

    entry = JournalEntry.objects.get(pk=response.json()["entry_id"])
    assert entry.owner == Owner.objects.default()


def test_a_fee_of_an_unknown_owner_is_422_naming_the_field_and_books_nothing(call, key, patron):
    response = call("post", "/fees", fee_body(owner="NOWHERE"), key)

    assert response.status_code == 422
    assert fields(response) == ["owner"]
    assert not JournalEntry.objects.exists()


def test_the_whole_set_books_each_new_fee_with_its_owner(call, key, patron):
    branch = OwnerFactory(code="BRANCH-N")

    call(
        "put", "/patrons/U-77/fees", {"fees": [sync_item("K-1", 100) | {"owner": "BRANCH-N"}]}, key
    )

    assert JournalEntry.objects.get(external_id="K-1").owner == branch
