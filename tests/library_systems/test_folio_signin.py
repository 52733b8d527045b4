"""Checking a card's PIN with FOLIO: the user by barcode (mod-users), then
POST /patron-pin/verify, every request and answer checked against mod-users' RAML."""

import pytest

from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.pins import PinRefused
from payments.library_systems.reading import MalformedAnswer
from tests.library_systems.fake_server import Reply
from tests.library_systems.folio_fake import fake_folio, folio_target, user

USER = "a1b2c3d4-0000-4000-8000-00000000aa01"
VERIFY = r"/patron-pin/verify"


def users_by_barcode(known: dict[str, str]):
    def answer(request):
        query = request.arg("query") or ""
        found = [user(user_id, barcode=card) for card, user_id in known.items()
                 if query == f'barcode=="{card}"']  # fmt: skip
        return Reply(200, {"users": found, "totalRecords": len(found)})

    return answer


def verify(request):
    body = request.json()
    return Reply(200, b"") if (body["id"], body["pin"]) == (USER, "4711") else Reply(422, b"")


@pytest.fixture
def server():
    with fake_folio() as fake:
        fake.route("GET", r"/users", users_by_barcode({"2000123": USER}))
        fake.route("POST", VERIFY, verify)
        yield fake
        assert fake.violations == []


def test_a_right_pin_gives_the_folio_user_id(server):
    assert folio_target(server).check_pin("2000123", "4711") == USER


def test_the_pin_is_verified_for_the_user_the_barcode_names(server):
    folio_target(server).check_pin("2000123", "4711")

    (request,) = server.sent("POST", VERIFY)
    assert request.json() == {"id": USER, "pin": "4711"}


def test_a_wrong_pin_is_refused(server):
    with pytest.raises(PinRefused):
        folio_target(server).check_pin("2000123", "0000")


def test_an_unknown_card_is_refused_without_asking_for_a_pin(server):
    with pytest.raises(PinRefused):
        folio_target(server).check_pin("9999999", "4711")
    assert server.sent("POST", VERIFY) == []


def test_folio_down_while_checking_a_pin_is_transient(server):
    server.route("POST", VERIFY, Reply(500, "Internal server error, contact administrator"))

    with pytest.raises(TransientError):
        folio_target(server).check_pin("2000123", "4711")


def test_folio_too_slow_to_find_the_card_is_transient(server):
    server.route("GET", r"/users", Reply(hang=True))

    with pytest.raises(TransientError):
        folio_target(server).check_pin("2000123", "4711")


def test_two_users_with_one_barcode_is_malformed(server):
    server.route("GET", r"/users", Reply(200, {"users": [user(USER), user(USER)],
                                               "totalRecords": 2}))  # fmt: skip

    with pytest.raises(MalformedAnswer, match="several users"):
        folio_target(server).check_pin("2000123", "4711")


def test_a_verify_refused_for_want_of_permission_is_permanent(server):
    server.route("POST", VERIFY, Reply(403, "Access requires permission", off_spec=True))

    with pytest.raises(PermanentError, match="403"):
        folio_target(server).check_pin("2000123", "4711")


def test_finding_a_card_gives_the_user_id_and_nobody_for_an_unknown_one(server):
    target = folio_target(server)

    assert (target.find_patron("2000123"), target.find_patron("1")) == (USER, None)
