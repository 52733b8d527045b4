"""The JSON API: idempotent writes, clear errors, keys and scopes."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Patron
from fees.models import EntryKind, JournalEntry, Loan
from payments import services
from payments.api_keys import api_client_revoke
from payments.models import ApiClient, ApiRequest, EventSource, OrderStatus
from tests.factories import FeeFactory, PatronFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patron():
    return PatronFactory(user_number="U-77", card_number="7700")


def fee_body(**overrides):
    body = {
        "fee_id": "ALEPH-Z31-0001",
        "user_number": "U-77",
        "fee_type": "overdue",
        "amount_cents": 250,
        "currency": "EUR",
        "description": "Overdue fine",
        "item": "Faust I",
    }
    return body | overrides


def journal():
    return list(JournalEntry.objects.order_by("pk").values_list("pk", "kind", "amount_cents"))


# --- the OpenAPI document --------------------------------------------------------------


def test_openapi_document_describes_every_endpoint(client):
    document = client.get("/api/v1/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/patrons",
        "/api/v1/patrons/{user_number}",
        "/api/v1/patrons/{user_number}/fees",
        "/api/v1/fees",
        "/api/v1/fees/{fee_id}",
        "/api/v1/fees/{fee_id}/cancel",
        "/api/v1/movements",
        "/api/v1/patrons/{user_number}/overdue-loans",
        "/api/v1/payments",
        "/api/v1/patrons/{user_number}/account",
    }
    assert (
        "BearerAuth" in str(document["components"]["securitySchemes"])
        or document["components"]["securitySchemes"]
    )


# --- patrons and fees -----------------------------------------------------------------


def test_library_system_creates_a_patron_who_cannot_log_in_yet(call, key):
    body = {"user_number": "U-9", "card_number": "9900", "last_name": "Lind"}

    response = call("post", "/patrons", body, key)

    assert response.status_code == 201
    assert response.json()["card_number"] == "9900"
    assert not Patron.objects.get(user_number="U-9").user.has_usable_password()


def test_same_patron_twice_answers_as_before(call, key):
    body = {"user_number": "U-9", "card_number": "9900", "last_name": "Lind"}
    first = call("post", "/patrons", body, key)

    second = call("post", "/patrons", body, key)

    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert Patron.objects.filter(user_number="U-9").count() == 1


def test_a_card_number_in_use_is_a_validation_error_naming_the_field(call, key, patron):
    response = call(
        "post", "/patrons", {"user_number": "U-9", "card_number": "7700", "last_name": "X"}, key
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "card_number"
    assert not Patron.objects.filter(user_number="U-9").exists()


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
        {"field": "currency", "message": "Only EUR is accepted."}
    ]
    assert journal() == []


# --- overdue loans and the account summary ------------------------------------------------


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


def test_account_summary_for_a_kiosk(call, key, patron):
    fee = FeeFactory(patron=patron, amount_cents=700, description="Lost atlas")
    services.order_create(patron=patron, fee_ids=[fee.pk])

    summary = call("get", "/patrons/U-77/account", key=key).json()

    assert (summary["balance_cents"], summary["payable_cents"]) == (700, 0)
    assert summary["open_fees"][0]["description"] == "Lost atlas"
    assert summary["open_fees"][0]["in_open_order"] is True
    assert summary["open_orders"][0]["amount_cents"] == 700


def test_account_of_an_unknown_patron_is_not_found(call, key):
    assert call("get", "/patrons/U-404/account", key=key).status_code == 404


# --- payments -------------------------------------------------------------------------


def payment_body(**overrides):
    return {"transaction_id": "CAMPUS-42", "amount_cents": 500, "currency": "EUR",
            "method": "campus card"} | overrides  # fmt: skip


@pytest.fixture
def order(patron):
    fee = FeeFactory(patron=patron, amount_cents=500)
    return services.order_create(patron=patron, fee_ids=[fee.pk])


def test_payment_for_an_order_goes_the_way_a_providers_paid_goes(call, key, order):
    response = call("post", "/payments", payment_body(order_reference=order.reference), key)

    assert response.status_code == 201
    assert response.json()["outcome"] == "booked"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    event = order.events.last()
    assert (event.status, event.source, event.payment_method) == ("Paid", "api", "campus card")
    assert order.payment_entry.pk == response.json()["payment_entry_id"]
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_payment_repeated_answers_as_before_and_books_once(call, key, order):
    first = call("post", "/payments", payment_body(order_reference=order.reference), key)

    second = call("post", "/payments", payment_body(order_reference=order.reference), key)

    assert (second.status_code, second.json()) == (201, first.json())
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_payment_repeated_with_another_amount_is_a_conflict(call, key, order):
    call("post", "/payments", payment_body(order_reference=order.reference), key)

    response = call(
        "post", "/payments", payment_body(order_reference=order.reference, amount_cents=1), key
    )

    assert response.status_code == 409


def test_second_payment_for_a_paid_order_books_nothing(call, key, order):
    call("post", "/payments", payment_body(order_reference=order.reference), key)

    response = call(
        "post",
        "/payments",
        payment_body(transaction_id="CAMPUS-43", order_reference=order.reference),
        key,
    )

    assert response.status_code == 200
    assert response.json()["outcome"] == "already_paid"
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_payment_for_an_order_cancelled_by_the_library_is_flagged_not_booked(call, key, order):
    services.payment_order_transition(
        order=order, status="CancelledByBib", source=EventSource.STAFF
    )

    response = call("post", "/payments", payment_body(order_reference=order.reference), key)

    assert response.json()["outcome"] == "recorded_not_booked"
    order.refresh_from_db()
    assert order.money_reports.awaiting_staff().exists()
    assert not JournalEntry.objects.filter(kind="payment").exists()


def test_payment_for_a_patron_without_an_order(call, key, patron):
    response = call("post", "/payments", payment_body(user_number="U-77"), key)

    assert response.status_code == 201
    entry = JournalEntry.objects.get(pk=response.json()["payment_entry_id"])
    assert (entry.patron, entry.amount_cents, entry.reference) == (patron, -500, "CAMPUS-42")


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # neither an order nor a patron
        {"order_reference": "EP-AAAA-AAAA", "user_number": "U-77"},  # both
    ],
)
def test_payment_must_name_an_order_or_a_patron(call, key, patron, overrides):
    response = call("post", "/payments", payment_body(**overrides), key)

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "order_reference"
    assert journal() == []


def test_payment_for_an_unknown_order_is_not_found(call, key, patron):
    response = call("post", "/payments", payment_body(order_reference="EP-ZZZZ-ZZZZ"), key)

    assert response.status_code == 404
    assert journal() == []


def test_payment_in_another_currency_is_refused(call, key, order):
    response = call(
        "post", "/payments", payment_body(order_reference=order.reference, currency="CHF"), key
    )

    assert response.status_code == 422
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED


# --- keys and scopes --------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["none", "wrong", "malformed", "revoked"])
def test_without_a_valid_key_nothing_is_written(call, make_key, patron, auth):
    key = make_key(name="kiosk")
    if auth == "revoked":
        api_client_revoke(client=ApiClient.objects.get(name="kiosk"))
    sent = {"none": None, "wrong": key[:-3] + "xyz", "malformed": "nonsense", "revoked": key}[auth]

    response = call("post", "/fees", fee_body(), sent)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert journal() == []


def test_a_key_without_the_scope_is_forbidden(call, make_key, patron):
    kiosk = make_key(scopes=["accounts:read"], name="kiosk")

    response = call("post", "/fees", fee_body(), kiosk)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert journal() == []
    assert call("get", "/patrons/U-77/account", key=kiosk).status_code == 200


def test_every_request_is_logged_with_its_client(call, key, patron):
    call("get", "/patrons/U-77/account", key=key)
    call("get", "/patrons/U-77/account", key="nonsense")

    logged = list(ApiRequest.objects.order_by("pk").values_list("client__name", "status"))
    assert logged == [("library system", 200), (None, 401)]


def test_a_client_is_throttled_per_minute(call, key, patron, settings):
    settings.API_REQUESTS_PER_MINUTE = 3
    statuses = [call("get", "/patrons/U-77/account", key=key).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_keys_are_stored_hashed(key):
    client = ApiClient.objects.get(name="library system")

    assert key.split(".")[1] not in client.key_hash
    assert len(client.key_hash) == 64


def test_admin_shows_a_new_key_once(admin_client):
    response = admin_client.post(
        "/admin/payments/apiclient/add/",
        {"name": "Campus card", "scopes": ["payments:write"], "note": ""},
        follow=True,
    )

    client = ApiClient.objects.get(name="Campus card")
    assert client.scopes == ["payments:write"]
    assert f"{client.key_prefix}." in response.content.decode()
    assert "will not be shown again" in response.content.decode()


# --- strict money and text ------------------------------------------------------------------


def loans_body(**loan):
    return {"loans": [{"item": "Momo", "due_date": "2026-11-01", "daily_fine_cents": 50,
                       "fine_cap_cents": 1000, "currency": "EUR"} | loan]}  # fmt: skip


@pytest.mark.parametrize("value", [True, False, "500", 100.0])
@pytest.mark.parametrize(
    ("method", "path", "make_body", "field"),
    [
        ("post", "/fees", lambda v: fee_body(amount_cents=v), "amount_cents"),
        ("post", "/fees", lambda v: fee_body(payment={"transaction_id": "K-1", "amount_cents": v}),
         "payment.amount_cents"),
        ("post", "/payments", lambda v: payment_body(user_number="U-77", amount_cents=v),
         "amount_cents"),
        ("put", "/patrons/U-77/overdue-loans", lambda v: loans_body(daily_fine_cents=v),
         "loans.0.daily_fine_cents"),
        ("put", "/patrons/U-77/overdue-loans", lambda v: loans_body(fine_cap_cents=v),
         "loans.0.fine_cap_cents"),
    ],
)  # fmt: skip
def test_amounts_that_are_not_json_integers_are_refused_naming_the_field(
    call, key, patron, method, path, make_body, field, value
):
    response = call(method, path, make_body(value), key)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert journal() == []
    assert not Loan.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/patrons", {"user_number": "U-9", "card_number": "9900", "last_name": "L\x00"},
         "last_name"),
        ("post", "/patrons", {"user_number": "U-9", "card_number": "9900", "last_name": "L",
                              "email": "a\x00@b.example"}, "email"),
        ("post", "/fees", fee_body(description="Overdue\x00"), "description"),
        ("post", "/fees", fee_body(item="\x00"), "item"),
        ("post", "/fees", fee_body(payment={"transaction_id": "K-1", "amount_cents": 250,
                                            "method": "cash\x00"}), "payment.method"),
        ("post", "/payments", payment_body(user_number="U-77", method="card\x00"), "method"),
        ("post", "/payments", payment_body(user_number="U-77\x00"), "user_number"),
        ("post", "/payments", payment_body(order_reference="EP-\x00"), "order_reference"),
        ("put", "/patrons/U-77/overdue-loans", loans_body(item="Momo\x00"), "loans.0.item"),
        ("put", "/patrons/U-77/overdue-loans", loans_body(barcode="\x00"), "loans.0.barcode"),
    ],
)  # fmt: skip
def test_nul_in_a_text_field_is_refused_naming_the_field(
    call, key, patron, method, path, body, field
):
    response = call(method, path, body, key)

    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert journal() == []
    assert not Loan.objects.exists()
    assert not Patron.objects.filter(user_number="U-9").exists()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/patrons/U-77%00/account", None),
        ("put", "/patrons/%00/overdue-loans", loans_body()),
    ],
)
def test_nul_in_the_user_number_of_the_path_is_refused(call, key, patron, method, path, body):
    response = call(method, path, body, key)

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "user_number"
    assert not Loan.objects.exists()


def test_a_request_with_nul_in_its_path_is_logged_percent_encoded(call, key, patron):
    call("get", "/patrons/U-77%00/account", key=key)

    assert ApiRequest.objects.get().path == "/api/v1/patrons/U-77%00/account"


def test_an_api_key_with_nul_is_unauthorized(call, key, patron):
    response = call("post", "/fees", fee_body(), "\x00" + key)

    assert response.status_code == 401
    assert journal() == []
