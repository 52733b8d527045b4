import pytest

from payments.api_keys import api_client_create
from tests.factories import PatronFactory

ALL_SCOPES = ["fees:write", "payments:write", "accounts:read", "movements:read"]


@pytest.fixture
def make_key(db):
    def make(scopes=ALL_SCOPES, name=None):
        _client, key = api_client_create(
            name=name or f"system-{len(scopes)}-{id(scopes)}", scopes=scopes
        )
        return key

    return make


@pytest.fixture
def key(make_key):
    return make_key(name="library system")


@pytest.fixture
def call(client):
    """call("post", "/fees", body, key) -> response"""

    def send(method, path, body=None, key=None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return getattr(client, method)(
            f"/api/v1{path}", body, content_type="application/json", headers=headers
        )

    return send


@pytest.fixture
def patron(db):
    """The patron of fee_body and payment_body (tests.api.helpers)."""
    return PatronFactory(user_number="U-77", card_number="7700")
