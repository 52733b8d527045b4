"""Fuzzing against the OpenAPI document: no 5xx, every answer matches the document,
and a refused request leaves the journal as it was."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Patron
from config.wsgi import application
from fees.models import JournalEntry, Loan
from payments import services
from payments.api import api
from tests.factories import FeeFactory, LoanFactory, PatronFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The document the API serves at /api/v1/openapi.json, generated from the code.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = application


@pytest.fixture(autouse=True)
def _serve_in_the_test_transaction(settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    # As Django's test client does: the test's connection must outlive each request.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def ledger_with_an_order(db):
    patron = PatronFactory(user_number="U-1", card_number="1111")
    fees = [FeeFactory(patron=patron, amount_cents=cents) for cents in (500, 700)]
    LoanFactory(patron=patron)
    return services.order_create(patron=patron, fee_ids=[fees[0].pk])


def snapshot():
    return (
        list(JournalEntry.objects.order_by("pk").values_list("pk", "amount_cents")),
        list(Loan.objects.order_by("pk").values_list("pk", "item")),
    )


@schema.parametrize()
@settings(
    max_examples=60,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_every_request_as_documented(case, key, ledger_with_an_order):
    before = snapshot()

    response = case.call(headers={"Authorization": f"Bearer {key}"})

    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert snapshot() == before, response.text


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_without_a_key_writes_nothing(case, ledger_with_an_order):
    before = snapshot()

    response = case.call()

    case.validate_response(response, checks=CHECKS)
    assert response.status_code in (401, 405)  # 405: a method the path does not have
    assert snapshot() == before


# --- explicit inputs the generator may not reach -----------------------------------------

FEE = {"fee_id": "F-1", "user_number": "U-1", "fee_type": "overdue", "amount_cents": 250,
       "currency": "EUR", "description": "Overdue fine"}  # fmt: skip
PAYMENT = {"transaction_id": "T-1", "user_number": "U-1", "amount_cents": 500, "currency": "EUR"}
LOAN = {"item": "Momo", "due_date": "2026-11-01", "daily_fine_cents": 50,
        "fine_cap_cents": 1000, "currency": "EUR"}  # fmt: skip
PATRON = {"user_number": "U-2", "card_number": "2222", "last_name": "Lind"}
LOANS_PATH = "/api/v1/patrons/{user_number}/overdue-loans"
ACCOUNT_PATH = "/api/v1/patrons/{user_number}/account"

NOT_INTEGERS = [True, False, "500", "1", 100.0, 1.0]


def refused_bodies():
    for value in NOT_INTEGERS:
        yield "/api/v1/fees", FEE | {"amount_cents": value}
        yield "/api/v1/fees", FEE | {"payment": {"transaction_id": "T-1", "amount_cents": value}}
        yield "/api/v1/payments", PAYMENT | {"amount_cents": value}
        for field in ("daily_fine_cents", "fine_cap_cents"):
            yield LOANS_PATH, {"loans": [LOAN | {field: value}]}
    for field in ("fee_id", "user_number", "currency", "description", "item"):
        yield "/api/v1/fees", FEE | {field: "a\x00b"}
    for field in ("transaction_id", "method"):
        yield "/api/v1/fees", FEE | {"payment": {"transaction_id": "T-1", "amount_cents": 250,
                                                 field: "a\x00b"}}  # fmt: skip
    for field in ("transaction_id", "user_number", "currency", "method"):
        yield "/api/v1/payments", PAYMENT | {field: "a\x00b"}
    yield "/api/v1/payments", PAYMENT | {"user_number": None, "order_reference": "EP-\x00"}
    for field in ("item", "barcode", "currency"):
        yield LOANS_PATH, {"loans": [LOAN | {field: "a\x00b"}]}
    for field in ("user_number", "card_number", "last_name", "first_name", "email"):
        yield "/api/v1/patrons", PATRON | {field: "a\x00b"}


@pytest.mark.parametrize(("path", "body"), list(refused_bodies()))
def test_api_refuses_non_integer_amounts_and_nul_in_text_and_writes_nothing(
    key, ledger_with_an_order, path, body
):
    method = "PUT" if path == LOANS_PATH else "POST"
    case = schema[path][method].Case(
        body=body, path_parameters={"user_number": "U-1"} if path == LOANS_PATH else None
    )
    before = snapshot()

    response = case.call(headers={"Authorization": f"Bearer {key}"})

    case.validate_response(response, checks=CHECKS)
    assert response.status_code == 422, response.text
    assert snapshot() == before
    assert not Patron.objects.filter(user_number="U-2").exists()


@pytest.mark.parametrize("user_number", ["\x00", "U-1\x00", "\x00U-1"])
@pytest.mark.parametrize(
    ("path", "method", "body"),
    [(ACCOUNT_PATH, "GET", None), (LOANS_PATH, "PUT", {"loans": [LOAN]})],
)
def test_api_refuses_nul_in_a_path_parameter_and_writes_nothing(
    key, ledger_with_an_order, path, method, body, user_number
):
    sent = {"body": body} if body else {}
    case = schema[path][method].Case(path_parameters={"user_number": user_number}, **sent)
    before = snapshot()

    response = case.call(headers={"Authorization": f"Bearer {key}"})

    case.validate_response(response, checks=CHECKS)
    assert response.status_code in (404, 422), response.text
    assert snapshot() == before


SYNC_FEE = {"fee_id": "F-9", "amount_cents": 100, "currency": "EUR", "description": "Fine"}
UPSERT = {"card_number": "1111", "last_name": "Lind"}


def refused_library_system_calls():
    for value in [*NOT_INTEGERS, -1]:
        yield "/api/v1/fees/{fee_id}", "PATCH", {"amount_cents": value, "reason": "x"}
    for value in NOT_INTEGERS:
        yield (
            "/api/v1/patrons/{user_number}/fees",
            "PUT",
            {"fees": [SYNC_FEE | {"amount_cents": value}]},
        )
    for field in ("fee_id", "currency", "description", "external_type", "item"):
        yield "/api/v1/patrons/{user_number}/fees", "PUT", {"fees": [SYNC_FEE | {field: "a\x00b"}]}
    for field in ("card_number", "last_name", "first_name", "email", "external_id"):
        yield "/api/v1/patrons/{user_number}", "PUT", UPSERT | {field: "a\x00b"}
    yield "/api/v1/fees/{fee_id}", "PATCH", {"amount_cents": 1, "reason": "a\x00b"}
    yield "/api/v1/fees/{fee_id}/cancel", "POST", {"reason": "a\x00b"}


@pytest.mark.parametrize(("path", "method", "body"), list(refused_library_system_calls()))
def test_library_system_calls_refuse_loose_amounts_and_nul_and_write_nothing(
    key, ledger_with_an_order, path, method, body
):
    FeeFactory(patron=Patron.objects.get(user_number="U-1"), external_id="F-1")
    case = schema[path][method].Case(
        body=body, path_parameters={"user_number": "U-1", "fee_id": "F-1"}
    )
    before = snapshot()

    response = case.call(headers={"Authorization": f"Bearer {key}"})

    case.validate_response(response, checks=CHECKS)
    assert response.status_code == 422, response.text
    assert snapshot() == before
    assert Patron.objects.get(user_number="U-1").card_number == "1111"


@pytest.mark.parametrize("fee_id", ["\x00", "F-1\x00"])
def test_a_nul_in_a_fee_id_of_the_path_is_refused(key, ledger_with_an_order, fee_id):
    case = schema["/api/v1/fees/{fee_id}/cancel"]["POST"].Case(
        body={"reason": "x"}, path_parameters={"fee_id": fee_id}
    )
    before = snapshot()

    response = case.call(headers={"Authorization": f"Bearer {key}"})

    assert response.status_code in (404, 422), response.text
    assert snapshot() == before
