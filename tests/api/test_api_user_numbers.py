"""One pattern for user numbers wherever they enter the API: in a body or in the path."""

from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model

from accounts.models import USER_NUMBER_PATTERN, Patron
from fees.models import JournalEntry, Loan
from payments.api import api

pytestmark = pytest.mark.django_db

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
