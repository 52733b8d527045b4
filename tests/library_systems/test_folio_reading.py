"""Reading a FOLIO user's open fee/fine accounts (mod-feesfines) and own data (mod-users)."""

import pytest

from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.reading import MalformedAnswer
from tests.library_systems.fake_server import Reply
from tests.library_systems.folio_fake import USERS, fake_folio, folio_target, user

USER = "a1b2c3d4-0000-4000-8000-00000000aa01"
OWNER = "b5f2a7c4-1111-4111-8111-00000000bb02"


def account(number: int, remaining: float, **fields) -> dict:
    return {
        "id": f"0d6a6a2e-8c5f-4a47-9f7a-{number:012d}", "amount": 10.0, "remaining": remaining,
        "status": {"name": "Open"}, "paymentStatus": {"name": "Outstanding"}, "userId": USER,
        "feeFineId": "9f0b6b1e-2222-4222-8222-00000000cc03", "ownerId": OWNER,
        "feeFineType": "Overdue fine", "title": "Momo", **fields,
    }  # fmt: skip


def pages_of(accounts: list[dict]):
    """GET /accounts answered page by page, as mod-feesfines pages: offset and limit."""

    def answer(request):
        offset, limit = int(request.arg("offset") or 0), int(request.arg("limit") or 10)
        return Reply(
            200, {"accounts": accounts[offset : offset + limit], "totalRecords": len(accounts)}
        )

    return answer


@pytest.fixture
def server():
    with fake_folio() as fake:
        fake.route("GET", r"/accounts", pages_of([]))
        yield fake
        assert fake.violations == []


def test_reading_gives_each_open_account_with_its_remaining_type_and_owner(server):
    server.route("GET", r"/accounts", pages_of([account(1, 2.5)]))

    (fee,) = folio_target(server).read_account(USER).fees

    assert (fee.fee_id, fee.outstanding_cents, fee.external_type, fee.owner_code, fee.item) == (
        "0d6a6a2e-8c5f-4a47-9f7a-000000000001", 250, "Overdue fine", OWNER, "Momo",
    )  # fmt: skip
    query = server.sent("GET", r"/accounts")[0].arg("query")
    assert query == f'(userId=="{USER}" and status.name=="Open")'


def test_reading_follows_the_pages_up_to_the_total(server):
    server.route("GET", r"/accounts", pages_of([account(n, 1.0) for n in range(1, 251)]))

    fees = folio_target(server, timeout=10).read_account(USER).fees  # the fake checks every page

    assert len(fees) == 250
    assert [r.arg("offset") for r in server.sent("GET", r"/accounts")] == ["0", "100", "200"]


def test_an_answer_without_a_total_is_malformed(server):
    server.route("GET", r"/accounts", Reply(200, {"accounts": []}, off_spec=True))

    with pytest.raises(MalformedAnswer, match="totalRecords"):
        folio_target(server).read_account(USER)


def test_a_fractional_cent_is_malformed(server):
    server.route("GET", r"/accounts", pages_of([account(1, 2.555)]))

    with pytest.raises(MalformedAnswer, match="whole number of cents"):
        folio_target(server).read_account(USER)


def test_reading_an_id_that_is_not_a_folio_user_id_is_refused(server):
    with pytest.raises(PermanentError, match="not a FOLIO user id"):
        folio_target(server).read_account("U-1001")


# --- the user's own data, from mod-users --------------------------------------------------


def test_the_users_barcode_names_and_email_are_read_from_mod_users(server):
    patron = folio_target(server).read_account(USER).patron

    assert (patron.external_id, patron.card_number, patron.last_name, patron.first_name,
            patron.email) == (USER, "2000123", "Momo", "Mia", "mia@example.org")  # fmt: skip
    assert [r.path for r in server.sent("GET", USERS)] == [f"/users/{USER}"]


def test_the_user_is_read_after_the_accounts_in_the_same_read(server):
    folio_target(server).read_account(USER)

    assert [r.path.split("/")[1] for r in server.requests] == ["accounts", "users"]


def test_a_user_without_personal_data_gives_only_the_barcode(server):
    bare = user(USER)
    del bare["personal"]
    server.route("GET", USERS, Reply(200, bare))

    patron = folio_target(server).read_account(USER).patron

    assert (patron.card_number, patron.last_name, patron.email) == ("2000123", "", "")


def test_a_user_answer_that_is_not_json_is_malformed(server):
    server.route("GET", USERS, Reply(200, "<html>gateway</html>"))

    with pytest.raises(MalformedAnswer, match="not JSON"):
        folio_target(server).read_account(USER)


def test_a_user_answer_whose_personal_data_is_not_an_object_is_malformed(server):
    server.route("GET", USERS, Reply(200, user(USER, personal=["Momo"]), off_spec=True))

    with pytest.raises(MalformedAnswer, match="personal"):
        folio_target(server).read_account(USER)


def test_a_barcode_that_is_not_a_text_is_malformed(server):
    server.route("GET", USERS, Reply(200, user(USER, barcode=["2000123"]), off_spec=True))

    with pytest.raises(MalformedAnswer, match="barcode"):
        folio_target(server).read_account(USER)


def test_an_answer_about_another_user_is_malformed(server):
    other = "ffffffff-0000-4000-8000-00000000aa02"
    server.route("GET", USERS, Reply(200, user(other)))

    with pytest.raises(MalformedAnswer, match=other):
        folio_target(server).read_account(USER)


def test_an_unknown_user_is_permanent(server):
    server.route("GET", USERS, Reply(404, "User not found"))

    with pytest.raises(PermanentError, match="404"):
        folio_target(server).read_account(USER)


def test_one_time_budget_covers_the_accounts_and_the_user_together(server):
    server.route("GET", r"/accounts", Reply(200, {"accounts": [], "totalRecords": 0}, delay=0.3))
    server.route("GET", USERS, Reply(200, user(USER), delay=0.3))

    with pytest.raises(TransientError):
        folio_target(server, timeout=0.5).read_account(USER)
