import base64
import dataclasses
import datetime
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems import get_target, koha
from payments.library_systems.base import FeeShare, PermanentError, TransientError
from payments.library_systems.pins import PinRefused
from payments.library_systems.reading import MalformedAnswer
from tests.library_systems.fake_server import (
    SPECS,
    FakeServer,
    Reply,
    SwaggerCheck,
    closed_port_url,
)
from tests.library_systems.koha_library import KohaLibrary
from tests.library_systems.movements import credit_refund, payment

CHECK = SwaggerCheck(SPECS / "koha-account.yaml")
CREDITS = r"/api/v1/patrons/42/account/credits"
DEBITS = r"/api/v1/patrons/42/account/debits"

PAYMENT = payment(
    "42",
    (("1001", "OVERDUE"), ("1002", "LOST")),
    booked_at=datetime.datetime(2025, 3, 4, 23, 30, tzinfo=datetime.UTC),
)


@pytest.fixture
def server():
    with FakeServer(CHECK) as fake:
        fake.route("GET", CREDITS, Reply(200, []))
        fake.route("GET", DEBITS, Reply(200, []))
        fake.route("POST", CREDITS, _created)
        fake.route("POST", DEBITS, _created)
        yield fake
        assert fake.violations == []


def _created(request):
    return Reply(201, {"account_line_id": 5000 + len(request.body), "amount": 1})


def _target(server, **options):
    options.setdefault("user", "portal")
    options.setdefault("password", "secret")
    return koha.KohaTarget(url=server.url, timeout=0.5, **options)


def test_payment_books_one_credit_per_fee_with_its_share(server):
    _target(server).deliver(PAYMENT)

    bodies = [r.json() for r in server.sent("POST", CREDITS)]
    per_line = {tuple(b.get("account_lines_ids", [])): b["amount"] for b in bodies}
    assert per_line[(1001,)] == 19.99
    assert per_line[(1002,)] == 0.1
    assert all(b["credit_type"] == "PAYMENT" for b in bodies)


def test_payment_puts_money_without_a_fee_in_a_credit_without_lines(server):
    _target(server).deliver(PAYMENT)

    loose = [r.json() for r in server.sent("POST", CREDITS) if b"account_lines_ids" not in r.body]
    assert [b["amount"] for b in loose] == [5.01]


def test_payment_sends_amounts_as_exact_decimals(server):
    _target(server).deliver(PAYMENT)

    raw = b" ".join(r.body for r in server.sent("POST", CREDITS))
    assert b'"amount": 19.99' in raw
    assert b'"amount": 0.1' in raw
    assert b'"amount": 5.01' in raw


def test_payment_is_dated_on_the_local_booking_day(server, settings):
    settings.TIME_ZONE = "Europe/Berlin"

    _target(server).deliver(PAYMENT)

    # 23:30 UTC on 4 March is already 5 March in Berlin.
    assert {r.json()["date"] for r in server.sent("POST", CREDITS)} == {"2025-03-05"}


def test_every_line_carries_the_movement_key_in_its_note(server):
    _target(server).deliver(PAYMENT)

    notes = [r.json()["note"] for r in server.sent("POST", CREDITS)]
    assert len(notes) == 3
    assert all("[mv-7f3a " in note for note in notes)


def test_reversal_books_the_debt_again_as_manual_debits(server):
    reversal = dataclasses.replace(PAYMENT, key="mv-rev", kind="reversal", reverses_entry_id=900)

    _target(server).deliver(reversal)

    bodies = [r.json() for r in server.sent("POST", DEBITS)]
    assert sorted(b["amount"] for b in bodies) == [0.1, 5.01, 19.99]
    assert {b["type"] for b in bodies} == {"MANUAL"}
    assert all("[mv-rev " in b["internal_note"] for b in bodies)
    assert server.sent("POST", CREDITS) == []


def test_refund_books_one_payout_debit_for_the_amount(server):
    _target(server).deliver(credit_refund(PAYMENT))

    (body,) = [r.json() for r in server.sent("POST", DEBITS)]
    assert body["type"] == "PAYOUT"
    assert body["amount"] == 7.0
    assert "[mv-ref payout]" in body["internal_note"]


def test_lines_are_looked_up_by_the_key_before_writing(server):
    _target(server).deliver(PAYMENT)

    (lookup,) = server.sent("GET", CREDITS)
    assert json.loads(lookup.arg("q")) == {"internal_note": {"-like": "%[mv-7f3a %"}}
    assert server.requests.index(lookup) == 0


def test_retry_writes_only_the_lines_koha_lacks(server):
    first_try = _target(server)
    server.route("POST", CREDITS, _created, Reply(500, {"error": "deadlock"}))
    with pytest.raises(TransientError):
        first_try.deliver(PAYMENT)
    written = [r.json() for r in server.sent("POST", CREDITS)[:1]]
    server.route(
        "GET", CREDITS, Reply(200, [{"amount": 1, "internal_note": b["note"]} for b in written])
    )
    server.route("POST", CREDITS, _created)

    _target(server).deliver(PAYMENT)

    notes = [r.json()["note"] for r in server.sent("POST", CREDITS)]
    assert len(notes) == 4  # 2 on the first try (one failed), 2 on the retry
    assert notes.count(written[0]["note"]) == 1


def test_retry_of_a_delivered_movement_writes_nothing(server):
    _target(server).deliver(PAYMENT)
    notes = [r.json()["note"] for r in server.sent("POST", CREDITS)]
    server.route("GET", CREDITS, Reply(200, [{"amount": 1, "internal_note": n} for n in notes]))

    note = _target(server).deliver(PAYMENT)

    assert len(server.sent("POST", CREDITS)) == 3
    assert "3 already there" in note


def test_retry_finds_the_lines_koha_lists_beyond_the_first_page(server):
    shares = tuple(
        FeeShare(entry_id=i, fee_id=str(2000 + i), fee_type="", amount_cents=1) for i in range(101)
    )
    many = dataclasses.replace(PAYMENT, amount_cents=101, shares=shares, unassigned_cents=0)
    _target(server).deliver(many)
    lines = [{"amount": 0.01, "internal_note": r.json()["note"]} for r in server.sent("POST")]
    server.route("GET", CREDITS, lambda request: Reply(200, _koha_page(lines, request)))

    note = _target(server).deliver(many)

    assert len(server.sent("POST", CREDITS)) == 101
    assert "101 already there" in note


def _koha_page(lines: list, request) -> list:
    """The page of ``lines`` Koha answers a listing with (its default page size is 20)."""
    size, page = int(request.arg("_per_page") or 20), int(request.arg("_page") or 1)
    return lines[(page - 1) * size : page * size]


def test_listing_that_is_not_a_list_is_transient_and_writes_nothing(server):
    server.route("GET", CREDITS, Reply(200, {"error": "Something went wrong"}, off_spec=True))

    with pytest.raises(TransientError, match="something else than a list"):
        _target(server).deliver(PAYMENT)

    assert server.sent("POST") == []


def test_server_error_is_transient(server):
    server.route("POST", CREDITS, Reply(503, {"error": "Under maintenance"}))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_timeout_is_transient(server):
    server.route("POST", CREDITS, Reply(hang=True))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_refused_connection_is_transient():
    target = koha.KohaTarget(url=closed_port_url(), user="u", password="p", timeout=0.5)

    with pytest.raises(TransientError):
        target.deliver(PAYMENT)


def test_unknown_patron_is_permanent(server):
    # Koha answers 404 for an unknown patron; its description of this listing omits it.
    server.route("GET", CREDITS, Reply(404, {"error": "Patron not found."}, off_spec=True))

    with pytest.raises(PermanentError, match="404"):
        _target(server).deliver(PAYMENT)


def test_movement_without_patron_id_is_permanent_and_sends_nothing(server):
    with pytest.raises(PermanentError, match="no Koha patron id"):
        _target(server).deliver(dataclasses.replace(PAYMENT, patron_external_id=""))

    assert server.requests == []


def test_fee_id_that_is_no_account_line_is_permanent_and_sends_nothing(server):
    odd = (FeeShare(entry_id=11, fee_id="A-17", fee_type="", amount_cents=2510),)

    with pytest.raises(PermanentError, match="not a Koha account line"):
        _target(server).deliver(dataclasses.replace(PAYMENT, shares=odd, unassigned_cents=0))

    assert server.requests == []


def test_basic_auth_is_sent_with_user_and_password(server):
    _target(server).deliver(PAYMENT)

    expected = "Basic " + base64.b64encode(b"portal:secret").decode()
    assert {r.headers["authorization"] for r in server.requests} == {expected}


def test_oauth_token_is_fetched_once_and_sent_as_bearer(server):
    server.route(
        "POST",
        r"/api/v1/oauth/token",
        Reply(200, {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}),
    )
    target = _target(server, user="client-id", password="", client_secret="client-secret")

    target.deliver(PAYMENT)
    target.deliver(dataclasses.replace(PAYMENT, key="mv-other"))

    (token_request,) = server.sent("POST", r"/api/v1/oauth/token")
    assert token_request.form() == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-id"],
        "client_secret": ["client-secret"],
    }
    api_calls = [r for r in server.requests if r is not token_request]
    assert {r.headers["authorization"] for r in api_calls} == {"Bearer tok-1"}


def test_library_is_sent_as_the_lines_library_id(server):
    _target(server, library_id="CPL").deliver(PAYMENT)

    assert {r.json()["library_id"] for r in server.sent("POST", CREDITS)} == {"CPL"}


def test_a_branchs_money_is_sent_with_the_branchs_library_id(server):
    _target(server, library_id="CPL").deliver(dataclasses.replace(PAYMENT, owner_code="FPL"))

    assert {r.json()["library_id"] for r in server.sent("POST", CREDITS)} == {"FPL"}


def test_from_settings_needs_credentials(settings):
    settings.LIBRARY_SYSTEM_URL = "https://koha.example.org"
    settings.LIBRARY_SYSTEM_USER = ""

    with pytest.raises(ImproperlyConfigured):
        koha.from_settings()


def test_get_target_builds_it_from_the_library_system_settings(settings):
    settings.LIBRARY_SYSTEM_URL = "https://koha.example.org/"
    settings.LIBRARY_SYSTEM_USER = "portal"
    settings.LIBRARY_SYSTEM_PASSWORD = "secret"
    settings.LIBRARY_SYSTEM_LIBRARY = "CPL"

    target = get_target("koha")

    assert target.name == "koha"
    assert target.api == "https://koha.example.org/api/v1"
    assert target.library_id == "CPL"


# --- reading a patron's account ---------------------------------------------------------


@pytest.fixture
def library():
    with KohaLibrary() as library:
        library.add_patron(42, "1000000042", "Muster", firstname="Erika", email="e@example.org")
        yield library
        assert library.server.violations == []


def _reader(library):
    return koha.KohaTarget(url=library.url, user="portal", password="secret", timeout=0.5)


def test_reading_gives_each_outstanding_debit_with_its_type_owner_and_description(library):
    line = library.add_fee(42, 250, debit_type="LOST", description="Atlas", library_id="FPL")
    library.add_fee(42, 0)  # paid off: not outstanding

    account = _reader(library).read_account("42")

    assert [(f.fee_id, f.outstanding_cents, f.external_type, f.owner_code, f.description)
            for f in account.fees] == [(str(line), 250, "LOST", "FPL", "Atlas")]  # fmt: skip
    assert (account.patron.card_number, account.patron.last_name, account.patron.email) == (
        "1000000042", "Muster", "e@example.org",
    )  # fmt: skip


def test_a_chargeback_line_the_portal_wrote_counts_towards_the_fee_it_re_creates(library):
    fee = library.add_fee(42, 0)
    library.add_fee(
        42, 300, debit_type="PAYMENT_REVERSAL",
        internal_note=f"Chargeback of ePayment EP-1 [epayment-9 fee {fee}]",
    )  # fmt: skip

    account = _reader(library).read_account("42")

    assert [(f.fee_id, f.outstanding_cents) for f in account.fees] == [(str(fee), 300)]


def test_an_answer_that_is_not_json_is_malformed(library):
    library.server.route("GET", r"/api/v1/patrons/42/account", Reply(200, "<html>oops</html>"))

    with pytest.raises(MalformedAnswer, match="not JSON"):
        _reader(library).read_account("42")


def test_a_line_without_an_outstanding_amount_is_malformed(library):
    answer = {"balance": 1, "outstanding_debits": {"lines": [{"account_line_id": 7, "amount": 1}]}}
    library.server.route("GET", r"/api/v1/patrons/42/account", Reply(200, answer))

    with pytest.raises(MalformedAnswer, match="line 7"):
        _reader(library).read_account("42")


def test_a_negative_outstanding_amount_is_malformed(library):
    line = library.add_fee(42, 100)
    library.patrons[42].lines[line]["amount_outstanding"] = -1.0

    with pytest.raises(MalformedAnswer, match="negative"):
        _reader(library).read_account("42")


def test_reading_a_patron_koha_does_not_know_is_permanent(library):
    with pytest.raises(PermanentError, match="404"):
        _reader(library).read_account("43")


def test_reading_an_id_that_is_not_a_koha_patron_id_is_refused(library):
    with pytest.raises(PermanentError, match="not a Koha patron id"):
        _reader(library).read_account("U-1001")


# --- checking a card's PIN --------------------------------------------------------------

VALIDATION = r"/api/v1/auth/password/validation"


@pytest.fixture
def pin_library(library):
    library.patrons[42].pin = "4711"
    return library


def test_a_right_pin_gives_the_koha_patron_id(pin_library):
    assert _reader(pin_library).check_pin("1000000042", "4711") == "42"


def test_the_pin_is_sent_in_the_body_with_the_card_as_identifier(pin_library):
    _reader(pin_library).check_pin("1000000042", "4711")

    (request,) = pin_library.server.sent("POST", VALIDATION)
    assert request.json() == {"identifier": "1000000042", "password": "4711"}
    assert "4711" not in request.path + str(request.query)


def test_a_wrong_pin_is_refused(pin_library):
    with pytest.raises(PinRefused):
        _reader(pin_library).check_pin("1000000042", "0000")


def test_an_unknown_card_is_refused_as_a_wrong_pin_is(pin_library):
    with pytest.raises(PinRefused):
        _reader(pin_library).check_pin("9999999999", "4711")


def test_koha_down_while_checking_a_pin_is_transient(pin_library):
    pin_library.server.route("POST", VALIDATION, Reply(503, {"error": "Under maintenance"}))

    with pytest.raises(TransientError):
        _reader(pin_library).check_pin("1000000042", "4711")


def test_koha_too_slow_to_check_a_pin_is_transient(pin_library):
    pin_library.server.route("POST", VALIDATION, Reply(hang=True))

    with pytest.raises(TransientError):
        _reader(pin_library).check_pin("1000000042", "4711")


def test_a_validation_answer_without_a_patron_id_is_malformed(pin_library):
    pin_library.server.route("POST", VALIDATION, Reply(201, {"cardnumber": "1000000042"}))

    with pytest.raises(MalformedAnswer, match="patron_id"):
        _reader(pin_library).check_pin("1000000042", "4711")


def test_a_portal_user_without_the_borrowers_permission_is_permanent(pin_library):
    pin_library.server.route("POST", VALIDATION, Reply(403, {"error": "Access forbidden"}))

    with pytest.raises(PermanentError, match="403"):
        _reader(pin_library).check_pin("1000000042", "4711")
