"""Patrons (payments.api.patrons): created by POST, created or kept up to date by PUT."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Patron
from tests.factories import PASSWORD, PatronFactory

pytestmark = pytest.mark.django_db


# --- POST /patrons --------------------------------------------------------------------


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


# --- PUT /patrons/{user_number} -------------------------------------------------------


def patron_body(**overrides):
    return {"card_number": "7700", "last_name": "Roth", "first_name": "Eva",
            "email": "eva@example.org", "external_id": "4711"} | overrides  # fmt: skip


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


# --- the two bodies in the OpenAPI document ---------------------------------------------


def test_the_openapi_document_describes_both_patron_bodies(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    fields = ["card_number", "last_name", "first_name", "email", "external_id"]

    create, upsert = schemas["PatronIn"], schemas["PatronUpsertIn"]

    assert list(create["properties"]) == ["user_number", *fields]
    assert create["required"] == ["user_number", "card_number", "last_name"]
    assert list(upsert["properties"]) == fields
    assert upsert["required"] == ["card_number", "last_name"]
    assert {name: create["properties"][name] for name in fields} == upsert["properties"]
