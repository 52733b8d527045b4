import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems import folio, get_target
from payments.library_systems.base import FeeShare, PermanentError, TransientError
from tests.library_systems.fake_server import Reply, closed_port_url
from tests.library_systems.folio_fake import ACTIONS, SERVICE_POINT, fake_folio, folio_target
from tests.library_systems.movements import credit_refund, fee_reversal, payment

ACCOUNT_A = "0d6a6a2e-8c5f-4a47-9f7a-3c3c2d0f1a01"
ACCOUNT_B = "5b0b1f6e-2f27-4c1b-8a51-6f8b2f0c9b02"

PAYMENT = payment(
    "b6b2a7c4-0c3a-4f0e-9d0a-6f0d2b7e4c11",
    ((ACCOUNT_A, "Overdue fine"), (ACCOUNT_B, "Lost item fee")),
)


@pytest.fixture
def server():
    with fake_folio() as fake:
        yield fake
        assert fake.violations == []


def _target(server, **options):
    return folio_target(server, **options)


def test_payment_pays_each_account_its_share(server):
    _target(server).deliver(PAYMENT)

    paid = {r.path: r.json()["amount"] for r in server.sent("POST")}
    assert paid == {f"/accounts/{ACCOUNT_A}/pay": "19.99", f"/accounts/{ACCOUNT_B}/pay": "0.10"}


def test_payment_names_service_point_method_and_key(server):
    _target(server, user="portal-bot").deliver(PAYMENT)

    body = server.sent("POST")[0].json()
    assert body["servicePointId"] == SERVICE_POINT
    assert body["paymentMethod"] == "ePayment"
    assert body["userName"] == "portal-bot"
    assert body["notifyPatron"] is False
    assert body["transactionInfo"] == "mv-7f3a"
    assert body["comments"].startswith("STAFF : ePayment EP-2025-0001")
    assert body["comments"].endswith("[mv-7f3a]")


def test_an_owners_payment_is_booked_at_its_service_point_with_its_payment_method(server):
    branch_point = "9d1b77e8-f02e-4b7f-b296-3f2042ddef21"
    branch_payment = dataclasses.replace(
        PAYMENT, owner_service_point=branch_point, owner_payment_method="Online Nord"
    )

    _target(server).deliver(branch_payment)

    body = server.sent("POST")[0].json()
    assert (body["servicePointId"], body["paymentMethod"]) == (branch_point, "Online Nord")


def test_every_call_carries_tenant_and_token(server):
    _target(server).deliver(PAYMENT)

    assert {(r.headers["x-okapi-tenant"], r.headers["x-okapi-token"]) for r in server.requests} == {
        ("diku", "okapi-token")
    }


def test_money_without_a_fee_is_not_sent_and_said_so(server):
    note = _target(server).deliver(PAYMENT)

    assert "5.01 EUR not tied to a FOLIO fee, not sent" in note
    assert len(server.sent("POST")) == 2


def test_reversal_refunds_each_account_so_the_fee_is_owed_again(server):
    _target(server).deliver(fee_reversal(PAYMENT))

    refunded = {r.path: r.json()["amount"] for r in server.sent("POST")}
    assert refunded == {
        f"/accounts/{ACCOUNT_A}/refund": "19.99",
        f"/accounts/{ACCOUNT_B}/refund": "0.10",
    }
    assert all("Chargeback" in r.json()["comments"] for r in server.sent("POST"))


def test_refund_refunds_the_fees_it_names(server):
    refund = dataclasses.replace(
        PAYMENT,
        key="mv-ref",
        kind="refund",
        amount_cents=500,
        shares=(FeeShare(entry_id=11, fee_id=ACCOUNT_A, fee_type="", amount_cents=500),),
        unassigned_cents=0,
    )

    _target(server).deliver(refund)

    (call,) = server.sent("POST")
    assert (call.path, call.json()["amount"]) == (f"/accounts/{ACCOUNT_A}/refund", "5.00")


def test_refund_of_credit_alone_sends_nothing(server):
    note = _target(server).deliver(credit_refund(PAYMENT))

    assert server.requests == []
    assert "7.00 EUR not tied to a FOLIO fee" in note


def test_share_without_fee_id_is_permanent_and_sends_nothing(server):
    shares = (*PAYMENT.shares, FeeShare(entry_id=13, fee_id="", fee_type="", amount_cents=501))

    with pytest.raises(PermanentError, match=r"\[13\] have no FOLIO account id"):
        _target(server).deliver(dataclasses.replace(PAYMENT, shares=shares, unassigned_cents=0))

    assert server.requests == []


def test_each_account_is_searched_for_the_key_before_paying(server):
    _target(server).deliver(PAYMENT)

    search = server.sent("GET", ACTIONS)[0]
    assert search.arg("query") == f'accountId=="{ACCOUNT_A}" and comments=="*[mv-7f3a]*"'
    assert server.requests.index(search) == 0


def test_key_with_cql_masking_characters_is_searched_literally(server):
    _target(server).deliver(dataclasses.replace(PAYMENT, key='k*"?'))

    search = server.sent("GET", ACTIONS)[0]
    assert search.arg("query").endswith(r'comments=="*[k\*\"\?]*"')


def test_retry_skips_accounts_already_booked(server):
    def found_for_a(request):
        hit = ACCOUNT_A in request.arg("query")
        return Reply(200, {"feefineactions": [], "totalRecords": 1 if hit else 0})

    server.route("GET", ACTIONS, found_for_a)

    note = _target(server).deliver(PAYMENT)

    assert [r.path for r in server.sent("POST")] == [f"/accounts/{ACCOUNT_B}/pay"]
    assert "1 already booked" in note


def test_search_answer_without_a_count_is_transient_and_pays_nothing(server):
    server.route("GET", ACTIONS, Reply(200, {"feefineactions": []}, off_spec=True))

    with pytest.raises(TransientError, match="fee/fine action search"):
        _target(server).deliver(PAYMENT)

    assert server.sent("POST") == []


def _login_answers(server, expiration: str, cookie: str) -> None:
    server.route(
        "POST",
        r"/authn/login-with-expiry",
        Reply(
            201,
            {"accessTokenExpiration": expiration, "refreshTokenExpiration": "x"},
            headers={"Set-Cookie": cookie},
        ),
    )


def test_login_uses_the_access_token_cookie(server):
    _login_answers(server, "2999-01-01T00:00:00Z", "folioAccessToken=at-1; Path=/; HttpOnly")
    target = _target(server, token="", user="portal", password="pw")

    target.deliver(PAYMENT)
    target.deliver(dataclasses.replace(PAYMENT, key="mv-other"))

    (login,) = server.sent("POST", r"/authn/login-with-expiry")
    assert login.json() == {"username": "portal", "password": "pw"}
    assert login.headers["x-okapi-tenant"] == "diku"
    others = [r for r in server.requests if r is not login]
    assert {r.headers["x-okapi-token"] for r in others} == {"at-1"}
    assert not any("cookie" in r.headers for r in others)


def test_login_again_once_the_access_token_expired(server):
    _login_answers(server, "2000-01-01T00:00:00Z", "folioAccessToken=at-old; Path=/")
    target = _target(server, token="", user="portal", password="pw")

    target.deliver(dataclasses.replace(PAYMENT, shares=PAYMENT.shares[:1]))

    assert len(server.sent("POST", r"/authn/login-with-expiry")) == 2


def test_refused_action_is_permanent(server):
    server.route(
        "POST",
        r"/accounts/[^/]+/pay",
        Reply(
            422,
            {"accountId": ACCOUNT_A, "amount": "19.99", "errorMessage": "Account is closed"},
        ),
    )

    with pytest.raises(PermanentError, match="Account is closed"):
        _target(server).deliver(PAYMENT)


def test_server_error_is_transient(server):
    server.route("POST", r"/accounts/[^/]+/pay", Reply(500, "Internal server error"))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_timeout_is_transient(server):
    server.route("GET", ACTIONS, Reply(hang=True))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_refused_connection_is_transient():
    target = folio.FolioTarget(
        url=closed_port_url(), tenant="diku", service_point_id=SERVICE_POINT, token="t"
    )

    with pytest.raises(TransientError):
        target.deliver(PAYMENT)


def test_from_settings_needs_the_service_point(settings):
    settings.LIBRARY_SYSTEM_URL = "https://okapi.example.org"
    settings.LIBRARY_SYSTEM_TENANT = "diku"
    settings.LIBRARY_SYSTEM_API_KEY = "token"
    settings.LIBRARY_SYSTEM_LIBRARY = "Main desk"

    with pytest.raises(ImproperlyConfigured, match="service point"):
        folio.from_settings()


def test_get_target_builds_it_from_the_library_system_settings(settings):
    settings.LIBRARY_SYSTEM_URL = "https://okapi.example.org/"
    settings.LIBRARY_SYSTEM_TENANT = "diku"
    settings.LIBRARY_SYSTEM_API_KEY = ""
    settings.LIBRARY_SYSTEM_USER = "portal"
    settings.LIBRARY_SYSTEM_PASSWORD = "pw"
    settings.LIBRARY_SYSTEM_LIBRARY = SERVICE_POINT

    target = get_target("folio")

    assert target.name == "folio"
    assert (target.url, target.tenant, target.service_point_id) == (
        "https://okapi.example.org",
        "diku",
        SERVICE_POINT,
    )
