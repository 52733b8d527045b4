"""What every endpoint shares (payments.api.core): the OpenAPI document, keys and
scopes, the request log, throttling, strict money and text, one pattern for user numbers
wherever they enter (in a body or in the path)."""

from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model

from accounts.models import USER_NUMBER_PATTERN, Patron
from fees.models import JournalEntry, Loan
from payments.api import api
from payments.api_keys import api_client_revoke
from payments.models import ApiClient, ApiRequest
from tests.api.helpers import fee_body, journal, loans_body, payment_body

pytestmark = pytest.mark.django_db


# --- the OpenAPI document -------------------------------------------------------------


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


# --- keys and scopes ------------------------------------------------------------------


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


def test_an_api_key_with_nul_is_unauthorized(call, key, patron):
    response = call("post", "/fees", fee_body(), "\x00" + key)

    assert response.status_code == 401
    assert journal() == []


# --- strict money and text ------------------------------------------------------------


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


# --- one pattern for user numbers -----------------------------------------------------


OUTSIDE_THE_PATTERN = [
    "\u0661\u0662",  # Arabic-Indic digits
    "\uff15",  # a full-width digit
    "M\u00fcller",
    ".",
    "..",
    "U 1",
    "U-1\n",
    "U#1",
    "U%1",
    "a\\b",
    "x" * 33,
]


UPSERT = {"card_number": "5500", "last_name": "Lind"}


def refused_on(response, field="user_number"):
    return response.status_code == 422 and [
        f["field"] for f in response.json()["error"]["fields"]
    ] == [field]


def nothing_written():
    return (
        not Patron.objects.exists()
        and not get_user_model().objects.exists()
        and not JournalEntry.objects.exists()
        and not Loan.objects.exists()
    )


@pytest.mark.parametrize("user_number", OUTSIDE_THE_PATTERN)
def test_post_patron_refuses_a_user_number_outside_the_pattern(call, key, user_number):
    body = UPSERT | {"user_number": user_number}

    response = call("post", "/patrons", body, key)

    assert refused_on(response), response.content
    assert nothing_written()


@pytest.mark.parametrize("user_number", OUTSIDE_THE_PATTERN)
def test_put_patron_refuses_a_user_number_outside_the_pattern(call, key, user_number):
    response = call("put", f"/patrons/{quote(user_number, safe='')}", UPSERT, key)

    assert refused_on(response), response.content
    assert nothing_written()


FEE = {"fee_id": "F-1", "amount_cents": 250, "currency": "EUR", "description": "Fine"}


LOAN = {"item": "Momo", "due_date": "2026-11-01", "daily_fine_cents": 50,
        "fine_cap_cents": 1000, "currency": "EUR"}  # fmt: skip


PAYMENT = {"transaction_id": "T-1", "amount_cents": 500, "currency": "EUR"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/patrons/{n}/account", None),
        ("put", "/patrons/{n}/overdue-loans", {"loans": [LOAN]}),
        ("put", "/patrons/{n}/fees", {"fees": [FEE]}),
        ("post", "/fees", FEE | {"user_number": "{n}"}),
        ("post", "/payments", PAYMENT | {"user_number": "{n}"}),
    ],
)
def test_lookups_refuse_a_user_number_outside_the_pattern(call, key, method, path, body):
    user_number = "\u0661\u0662"
    if body is not None:
        body = {name: user_number if value == "{n}" else value for name, value in body.items()}

    response = call(method, path.format(n=quote(user_number)), body, key)

    assert refused_on(response), response.content
    assert nothing_written()


@pytest.mark.parametrize("user_number", ["jdoe@uni.example", "A_b+1-2.x", ".5", "U..1", "x" * 32])
def test_put_patron_takes_a_user_number_of_the_patterns_characters(call, key, user_number):
    response = call("put", f"/patrons/{quote(user_number, safe='')}", UPSERT, key)

    assert response.status_code == 201, response.content
    assert Patron.objects.get().user_number == user_number


def user_number_schemas(document):
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "user_number":
                    yield parameter["schema"]
    for schema in document["components"]["schemas"].values():
        if schema.get("title", "").endswith("Out"):
            continue  # what the API answers, not what enters
        field = schema.get("properties", {}).get("user_number")
        if field is not None:
            yield from field.get("anyOf", [field])


def test_the_openapi_document_gives_the_one_pattern_for_every_user_number():
    schemas = [s for s in user_number_schemas(api.get_openapi_schema()) if s["type"] != "null"]

    assert len(schemas) == 7  # four paths, three bodies
    assert {(s["pattern"], s["maxLength"]) for s in schemas} == {
        (f"^(?:{USER_NUMBER_PATTERN})$", 32)
    }
