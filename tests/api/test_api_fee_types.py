"""The API's fee type: a code from the portal's fee types table, checked with the request."""

import pytest

from fees.models import JournalEntry
from tests.api.test_api import fee_body
from tests.api.test_api_library import sync_item
from tests.factories import FeeKindFactory, PatronFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patron():
    return PatronFactory(user_number="U-77")


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
