"""Every answer under /api/ is the API's JSON error when it is one, also where Django or
django-ninja answer rather than an endpoint: no such path, a method the path lacks, a
request Django refuses, a body over the upload limit, a server error."""

import pytest
from django.test import Client

from payments.api.errors import ErrorOut
from tests.api.helpers import fee_body, journal
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db

TEN_MB = 10 * 1024 * 1024


def assert_documented_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].split(";")[0] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    ErrorOut.model_validate(body)
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patrons/a%2Fb",  # an encoded slash: /patrons/a/b, no such path
        "/api/v1/patrons/a%2Fb/account",
        "/api/v1/nothing-here",
        "/api/v1/",
        "/api/v2/patrons",
        "/api/",
    ],
)
def test_a_path_the_api_does_not_have_is_a_json_404(call, key, path):
    response = Client().get(path, headers={"Authorization": f"Bearer {key}"})

    assert_documented_error(response, 404, "not_found")


def test_a_put_to_a_patron_with_an_encoded_slash_is_a_json_404_and_writes_nothing(call, key):
    response = call("put", "/patrons/a%2Fb", {"card_number": "1", "last_name": "X"}, key)

    assert_documented_error(response, 404, "not_found")
    assert journal() == []


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/patrons", "POST"),
        ("delete", "/api/v1/movements", "GET"),
        ("patch", "/api/v1/payments", "POST"),
        ("options", "/api/v1/fees", "POST"),
    ],
)
def test_a_method_the_path_does_not_have_is_a_json_405_with_the_allowed_ones(
    key, method, path, allowed
):
    response = getattr(Client(), method)(path, headers={"Authorization": f"Bearer {key}"})

    assert_documented_error(response, 405, "method_not_allowed")
    assert response["Allow"] == allowed
    assert allowed in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/fees"), ("put", "/api/v1/patrons/U-77/fees"), ("post", "/api/v1/x")],
)
def test_a_body_over_the_upload_limit_is_a_json_413_and_writes_nothing(key, method, path):
    PatronFactory(user_number="U-77")
    body = b'{"fee_id": "' + b"x" * TEN_MB + b'"}'

    response = getattr(Client(), method)(
        path, body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
    )

    if path == "/api/v1/x":  # no endpoint reads the body: the path is what is wrong
        assert_documented_error(response, 404, "not_found")
    else:
        assert_documented_error(response, 413, "too_large")
    assert journal() == []


def test_a_body_just_under_the_upload_limit_is_read(call, key, settings):
    PatronFactory(user_number="U-77")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(str(fee_body()).encode()) + 100

    response = call("post", "/fees", fee_body(), key)

    assert response.status_code == 201


def test_a_request_django_refuses_before_the_api_is_a_json_400(key):
    response = Client().get(
        "/api/v1/movements", headers={"Authorization": f"Bearer {key}", "Host": "evil.example"}
    )

    assert_documented_error(response, 400, "bad_request")


def test_a_server_error_under_the_api_is_a_json_500(key, monkeypatch):
    PatronFactory(user_number="U-77")

    def fails(**_):
        raise RuntimeError("database gone")

    monkeypatch.setattr("payments.api.accounts.account_summary_body", fails)
    client = Client(raise_request_exception=False)

    response = client.get(
        "/api/v1/patrons/U-77/account", headers={"Authorization": f"Bearer {key}"}
    )

    assert_documented_error(response, 500, "server_error")
    assert "database gone" not in response.content.decode()


@pytest.mark.parametrize("path", ["/nothing-here/", "/apis/v1/patrons", "/desk/patrons/a%2Fb/x/"])
def test_outside_the_api_a_missing_page_is_still_the_html_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
