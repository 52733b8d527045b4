"""A fee id names one fee of one patron in its library system: the whole-set sync of
another patron that names it is refused, and changes nothing."""

import pytest

from tests.api.test_api import journal
from tests.api.test_api_library import posted_fee, sync_item
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db


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
