import dataclasses
import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems import alma, get_target
from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.pins import PinRefused
from payments.library_systems.reading import MalformedAnswer
from tests.library_systems.fake_server import FakeServer, Reply, closed_port_url
from tests.library_systems.movements import credit_refund, fee_reversal, payment

USER = r"/almaws/v1/users/u%2042"
FEES = USER + r"/fees"
AMOUNT = re.compile(r"\d+\.\d\d")

# What the Developer Network pages cited in payments/library_systems/alma.py document for
# each call: the query parameters it takes and the values they may have.
DOCUMENTED = [
    ("GET", r"/almaws/v1/users/[^/]+/fees", {"user_id_type", "status"}),
    ("GET", r"/almaws/v1/users/[^/]+/fees/(?!all$)[^/]+", {"user_id_type"}),
    (
        "POST",
        r"/almaws/v1/users/[^/]+/fees/all",
        {"user_id_type", "op", "amount", "method", "comment", "external_transaction_id"},
    ),
    (
        "POST",
        r"/almaws/v1/users/[^/]+/fees/[^/]+",
        {"user_id_type", "op", "amount", "method", "reason", "comment", "external_transaction_id"},
    ),
    ("POST", r"/almaws/v1/users/[^/]+/fees", set()),
    ("GET", r"/almaws/v1/users/[^/]+", {"user_id_type", "view", "expand"}),
    # Authenticate or refresh user; its `password` parameter is the old way, the
    # Exl-User-Pw header the documented one.
    ("POST", r"/almaws/v1/users/[^/]+", {"user_id_type", "op", "password"}),
]
FEE_FIELDS = {
    "id", "type", "status", "user_primary_id", "balance", "remaining_vat_amount",
    "original_amount", "original_vat_amount", "creation_time", "status_time", "comment",
    "owner", "title", "barcode", "transactions", "bursar_transaction_id",
}  # fmt: skip


def documented_alma(request) -> list[str]:
    allowed = next(
        (
            allowed
            for method, path, allowed in DOCUMENTED
            if request.method == method and re.fullmatch(path, request.path)
        ),
        None,
    )
    if allowed is None:
        return ["not a documented Alma fees call"]
    problems = [
        f"query parameter {name} is not documented" for name in request.query if name not in allowed
    ]
    if not request.headers.get("authorization", "").startswith("apikey "):
        problems.append("no 'Authorization: apikey ...' header")
    status = request.arg("status")
    if status is not None and status not in {"ACTIVE", "INDISPUTE", "EXPORTED", "CLOSED"}:
        problems.append(f"status={status!r} is not documented")
    if request.method == "POST" and "password" in allowed:
        if request.arg("op") not in {"auth", "refresh"}:
            problems.append(f"op={request.arg('op')!r} is not one of ['auth', 'refresh']")
        if request.arg("op") == "auth" and not request.headers.get("exl-user-pw"):
            problems.append("op=auth without the Exl-User-Pw header")
        if request.body:
            problems.append("the operation takes no body")
    elif request.method == "POST" and "op" in allowed:
        ops = {"pay"} if request.path.endswith("/all") else {"pay", "waive", "dispute", "restore"}
        if request.arg("op") not in ops:
            problems.append(f"op={request.arg('op')!r} is not one of {sorted(ops)}")
        if request.arg("op") == "pay" and request.arg("method") not in {
            "CREDIT_CARD",
            "ONLINE",
            "CASH",
        }:
            problems.append(f"method={request.arg('method')!r} is mandatory for op=pay")
        if request.arg("amount") is not None and not AMOUNT.fullmatch(request.arg("amount")):
            problems.append(f"amount={request.arg('amount')!r} is not a decimal with cents")
        if request.body:
            problems.append("the operation takes no body")
    if request.method == "POST" and not {"op", "password"} & allowed:
        fee = json.loads(request.body)
        problems += [
            f"fee field {name} is not in rest_fee.xsd" for name in fee if name not in FEE_FIELDS
        ]
        problems += [
            f"fee field {name} is mandatory"
            for name in ("type", "original_amount", "owner")
            if name not in fee
        ]
    return problems


# The user object's fields (rest_user.xsd) the fake's answers may carry.
USER_FIELDS = {
    "primary_id", "first_name", "middle_name", "last_name", "full_name", "user_group",
    "status", "account_type", "contact_info", "user_identifier", "preferred_language",
    "expiry_date", "purge_date",
}  # fmt: skip


def documented_alma_answer(request, reply) -> list[str]:
    """An answer may hold only the fields rest_fee.xsd and rest_user.xsd document."""
    body = reply.body
    if reply.off_spec or not isinstance(body, dict) or reply.status != 200:
        return []
    if request.method == "GET" and re.fullmatch(r"/almaws/v1/users/[^/]+", request.path):
        return [
            f"user field {name} is not in rest_user.xsd" for name in body if name not in USER_FIELDS
        ]
    fees = body.get("fee", [body] if "id" in body else [])
    return [
        f"fee field {name} is not in rest_fee.xsd"
        for fee in fees
        for name in fee
        if name not in FEE_FIELDS
    ]


documented_alma.answer_problems = documented_alma_answer


PAYMENT = payment("u 42", (("8801", "OVERDUEFINE"), ("8802", "LOSTITEMREPLACEMENTFEE")))
REVERSAL = fee_reversal(PAYMENT)


def _fee(fee_id, transactions=()):
    return {
        "id": fee_id,
        "type": {"value": "OVERDUEFINE", "desc": "Overdue fine"},
        "owner": {"value": "MAIN", "desc": "Main library"},
        "balance": 0.0,
        "transactions": {"transaction": list(transactions)},
    }


@pytest.fixture
def server():
    with FakeServer(documented_alma) as fake:
        fake.route("GET", FEES + r"/(\d+)", lambda r: Reply(200, _fee(r.path.rsplit("/", 1)[1])))
        fake.route("GET", FEES, Reply(200, {"fee": [], "total_record_count": 0}))
        fake.route("POST", FEES + r"/(\d+|all)", lambda r: Reply(200, _fee("x")))
        fake.route("POST", FEES, Reply(200, _fee("9901")))
        yield fake
        assert fake.violations == []


def _target(server):
    # Room for a loaded machine: the fake checks every request and answer it serves.
    return alma.AlmaTarget(url=server.url, api_key="l7xx-key", timeout=2)


def _paid(server):
    return {r.path.rsplit("/", 1)[1]: r for r in server.sent("POST", FEES + r"/(\d+|all)")}


def test_payment_pays_each_fee_its_share(server):
    _target(server).deliver(PAYMENT)

    paid = _paid(server)
    assert (paid["8801"].arg("op"), paid["8801"].arg("amount")) == ("pay", "19.99")
    assert (paid["8802"].arg("op"), paid["8802"].arg("amount")) == ("pay", "0.10")


def test_payment_carries_the_key_as_external_transaction_id(server):
    _target(server).deliver(PAYMENT)

    paid = _paid(server)
    assert paid["8801"].arg("external_transaction_id") == "mv-7f3a"
    assert paid["8801"].arg("comment") == "ePayment EP-2025-0001 (online: card) [mv-7f3a]"
    assert paid["all"].arg("external_transaction_id") == "mv-7f3a-all"


def test_online_payment_is_sent_as_method_online(server):
    _target(server).deliver(PAYMENT)

    assert {r.arg("method") for r in _paid(server).values()} == {"ONLINE"}


def test_cash_payment_is_sent_as_method_cash(server):
    _target(server).deliver(dataclasses.replace(PAYMENT, method="cash"))

    assert {r.arg("method") for r in _paid(server).values()} == {"CASH"}


def test_money_without_a_fee_is_paid_on_all_fees(server):
    _target(server).deliver(PAYMENT)

    assert _paid(server)["all"].arg("amount") == "5.01"


def test_user_id_is_sent_as_one_path_segment(server):
    _target(server).deliver(PAYMENT)

    assert all(r.path.startswith("/almaws/v1/users/u%2042/") for r in server.requests)


def test_retry_skips_fees_whose_transactions_carry_the_key(server):
    paid_before = {
        "type": {"value": "PAYMENT"},
        "amount": 19.99,
        "external_transaction_id": "mv-7f3a",
    }
    server.route("GET", FEES + r"/8801", Reply(200, _fee("8801", [paid_before])))

    note = _target(server).deliver(PAYMENT)

    assert set(_paid(server)) == {"8802", "all"}
    assert "1 already paid" in note


def test_retry_skips_the_payment_on_all_fees_once_made(server):
    on_all = {"type": {"value": "PAYMENT"}, "comment": "ePayment EP-2025-0001 [mv-7f3a-all]"}
    server.route(
        "GET",
        FEES,
        lambda r: Reply(
            200, {"fee": [_fee("8803", [on_all])] if r.arg("status") == "CLOSED" else []}
        ),
    )

    _target(server).deliver(PAYMENT)

    assert "all" not in _paid(server)


def test_payment_on_all_fees_does_not_count_as_the_fees_own_payment(server):
    # Alma may have applied the fees/all payment of an earlier attempt to fee 8801 itself.
    on_all = {
        "type": {"value": "PAYMENT"},
        "external_transaction_id": "mv-7f3a-all",
        "comment": "ePayment EP-2025-0001 (online: card) [mv-7f3a-all]",
    }
    server.route("GET", FEES + r"/8801", Reply(200, _fee("8801", [on_all])))

    _target(server).deliver(PAYMENT)

    assert _paid(server)["8801"].arg("amount") == "19.99"


def test_fee_answer_that_is_not_json_is_transient_and_pays_nothing(server):
    server.route("GET", FEES + r"/8801", Reply(200, "<html>Service unavailable</html>"))

    with pytest.raises(TransientError, match="not JSON"):
        _target(server).deliver(PAYMENT)

    assert _paid(server) == {}


def test_reversal_creates_each_fee_again_with_its_type_and_owner(server):
    _target(server).deliver(REVERSAL)

    created = [r.json() for r in server.sent("POST", FEES)]
    assert [(f["type"], f["owner"], f["original_amount"]) for f in created] == [
        ({"value": "OVERDUEFINE"}, {"value": "MAIN"}, 19.99),
        ({"value": "OVERDUEFINE"}, {"value": "MAIN"}, 0.1),
    ]
    assert created[0]["comment"].endswith("[mv-rev fee 8801]")
    assert _paid(server) == {}


def test_refund_creates_the_fees_it_names_again(server):
    refund = dataclasses.replace(REVERSAL, key="mv-ref", kind="refund")

    _target(server).deliver(refund)

    created = [r.json()["comment"] for r in server.sent("POST", FEES)]
    assert created == [
        "Refund of ePayment EP-2025-0001: fee 8801 owed again [mv-ref fee 8801]",
        "Refund of ePayment EP-2025-0001: fee 8802 owed again [mv-ref fee 8802]",
    ]


def test_retry_of_reversal_skips_fees_already_created(server):
    again = _fee("9901") | {"comment": "Chargeback ... [mv-rev fee 8801]"}
    server.route("GET", FEES, Reply(200, {"fee": [again], "total_record_count": 1}))

    _target(server).deliver(REVERSAL)

    (created,) = [r.json()["comment"] for r in server.sent("POST", FEES)]
    assert created.endswith("[mv-rev fee 8802]")


def test_retry_of_reversal_skips_fees_created_again_and_closed_since(server):
    paid_since = _fee("9901") | {"status": {"value": "CLOSED"}, "comment": "... [mv-rev fee 8801]"}
    server.route(
        "GET",
        FEES,
        lambda r: Reply(200, {"fee": [paid_since] if r.arg("status") == "CLOSED" else []}),
    )

    _target(server).deliver(REVERSAL)

    (created,) = [r.json()["comment"] for r in server.sent("POST", FEES)]
    assert created.endswith("[mv-rev fee 8802]")


def test_reversal_of_money_without_a_fee_is_permanent_and_sends_nothing(server):
    with pytest.raises(PermanentError, match=r"5\.01 EUR of this reversal belong to no Alma fee"):
        _target(server).deliver(dataclasses.replace(REVERSAL, amount_cents=2510))

    assert server.requests == []


def test_refund_of_credit_is_permanent_and_sends_nothing(server):
    with pytest.raises(PermanentError, match="Book it in Alma by hand"):
        _target(server).deliver(credit_refund(PAYMENT))

    assert server.requests == []


def test_movement_without_patron_id_is_permanent_and_sends_nothing(server):
    with pytest.raises(PermanentError, match="no Alma user id"):
        _target(server).deliver(dataclasses.replace(PAYMENT, patron_external_id=""))

    assert server.requests == []


def test_refused_payment_is_permanent(server):
    error = {"errorsExist": True, "errorList": {"error": [{"errorCode": "401666"}]}}
    server.route("POST", FEES + r"/8801", Reply(400, error))

    with pytest.raises(PermanentError, match="401666"):
        _target(server).deliver(PAYMENT)


def test_server_error_is_transient(server):
    server.route("POST", FEES + r"/8801", Reply(500, "General error"))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_rate_limit_is_transient(server):
    server.route("GET", FEES + r"/8801", Reply(429, "PER_SECOND_THRESHOLD"))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_timeout_is_transient(server):
    server.route("POST", FEES + r"/8801", Reply(hang=True))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_refused_connection_is_transient():
    with pytest.raises(TransientError):
        alma.AlmaTarget(url=closed_port_url(), api_key="k", timeout=0.5).deliver(PAYMENT)


def test_from_settings_needs_the_api_key(settings):
    settings.LIBRARY_SYSTEM_URL = "https://api-eu.hosted.exlibrisgroup.com"
    settings.LIBRARY_SYSTEM_API_KEY = ""

    with pytest.raises(ImproperlyConfigured):
        alma.from_settings()


def test_get_target_builds_it_from_the_library_system_settings(settings):
    settings.LIBRARY_SYSTEM_URL = "https://api-eu.hosted.exlibrisgroup.com/"
    settings.LIBRARY_SYSTEM_API_KEY = "l7xx-key"

    target = get_target("alma")

    assert target.name == "alma"
    assert target.api == "https://api-eu.hosted.exlibrisgroup.com/almaws/v1"


# --- reading a user's active fees -------------------------------------------------------


def active_fee(fee_id, balance, **fields):
    return {**_fee(fee_id), "balance": balance, "original_amount": 10.0, "title": "Momo",
            "status": {"value": "ACTIVE"}, **fields}  # fmt: skip


ALMA_USER = {
    "primary_id": "u 42", "first_name": "Erika", "last_name": "Muster",
    "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "1000000042"}],
    "contact_info": {"email": [{"email_address": "e@example.org", "preferred": True}]},
}  # fmt: skip


def test_reading_gives_each_active_fee_with_its_balance_type_and_owner(server):
    server.route(
        "GET", FEES, Reply(200, {"fee": [active_fee("8801", 2.5)], "total_record_count": 1})
    )
    server.route("GET", USER, Reply(200, ALMA_USER))

    account = _target(server).read_account("u 42")

    ((fee),) = account.fees
    assert (fee.fee_id, fee.outstanding_cents, fee.external_type, fee.owner_code) == (
        "8801", 250, "OVERDUEFINE", "MAIN",
    )  # fmt: skip
    assert server.sent("GET", FEES)[0].arg("status") == "ACTIVE"
    assert (account.patron.card_number, account.patron.email) == ("1000000042", "e@example.org")


def test_a_fee_the_portal_created_again_counts_towards_the_fee_it_re_creates(server):
    again = active_fee("9901", 3.0, comment="Chargeback of ePayment EP-1: [epayment-9 fee 8801]")
    fees = [active_fee("8801", 0.0), again]
    server.route("GET", FEES, Reply(200, {"fee": fees, "total_record_count": 2}))
    server.route("GET", USER, Reply(200, ALMA_USER))

    account = _target(server).read_account("u 42")

    assert [(f.fee_id, f.outstanding_cents) for f in account.fees] == [("8801", 300)]


def test_a_fee_without_an_id_is_malformed(server):
    server.route("GET", FEES, Reply(200, {"fee": [{"balance": 1.0}]}))

    with pytest.raises(MalformedAnswer, match="id is missing"):
        _target(server).read_account("u 42")


# --- checking a card's PIN --------------------------------------------------------------

CARD = r"/almaws/v1/users/C%2042"


def _alma_auth(request):
    """Alma answers 204 to a right password and 400 to a wrong one or an unknown user."""
    if request.headers.get("exl-user-pw") == "4711":
        return Reply(204, b"")
    return Reply(400, {"errorsExist": True, "errorList": {"error": [
        {"errorCode": "401652", "errorMessage": "General Error - An error has occurred."}
    ]}})  # fmt: skip


@pytest.fixture
def pin_server(server):
    server.route("POST", CARD, _alma_auth)
    server.route("GET", CARD, Reply(200, {"primary_id": "u-42", "last_name": "Muster"}))
    return server


def test_a_right_pin_gives_the_alma_primary_id(pin_server):
    assert _target(pin_server).check_pin("C 42", "4711") == "u-42"


def test_the_pin_goes_in_the_exl_user_pw_header_and_nowhere_else(pin_server):
    _target(pin_server).check_pin("C 42", "4711")

    (request,) = pin_server.sent("POST", CARD)
    assert request.arg("op") == "auth"
    assert request.headers["exl-user-pw"] == "4711"
    assert "4711" not in request.path + str(request.query) + request.body.decode()


def test_a_wrong_pin_is_refused(pin_server):
    with pytest.raises(PinRefused):
        _target(pin_server).check_pin("C 42", "0000")


def test_alma_down_while_checking_a_pin_is_transient(pin_server):
    pin_server.route("POST", CARD, Reply(500, {"errorsExist": True}))

    with pytest.raises(TransientError):
        _target(pin_server).check_pin("C 42", "4711")


def test_a_user_answer_without_a_primary_id_is_malformed(pin_server):
    pin_server.route("GET", CARD, Reply(200, {"last_name": "Muster"}))

    with pytest.raises(MalformedAnswer, match="primary_id"):
        _target(pin_server).check_pin("C 42", "4711")


def test_finding_a_card_gives_the_alma_primary_id(pin_server):
    assert _target(pin_server).find_patron("C 42") == "u-42"


def test_finding_a_card_alma_does_not_know_gives_nobody(pin_server):
    pin_server.route("GET", CARD, Reply(400, {"errorsExist": True}))

    assert _target(pin_server).find_patron("C 42") is None
