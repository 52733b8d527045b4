"""Reading an Aleph patron's open debits (the Cash resource) and own data (the address)."""

import pytest

from payments.library_systems import aleph
from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.reading import MalformedAnswer
from tests.library_systems.aleph_fake import ADDRESS, CASH, address, fake_aleph
from tests.library_systems.fake_server import Reply


@pytest.fixture
def server():
    with fake_aleph() as fake:
        yield fake
        assert fake.violations == []


def _target(server, timeout=0.5):
    return aleph.AlephTarget(url=server.url + "/rest-dlf", institution="USM50", timeout=timeout)


def cash_list(*entries: tuple[str, str, str, str]) -> str:
    """A full-view cash list: (cash id, sum, credit/debit, status) per transaction."""
    cash = "".join(
        f'<cash href="http://aleph/rest-dlf/patron/ID0042/circulationActions/cash/{cash_id}">'
        f"<z31><z31-sum>{amount}</z31-sum><z31-credit-debit>{kind}</z31-credit-debit>"
        f"<z31-status>{status}</z31-status><z31-type>Overdue</z31-type>"
        f"<z31-sub-library>MAIN</z31-sub-library></z31><z13><z13-title>Momo</z13-title></z13>"
        "</cash>"
        for cash_id, amount, kind, status in entries
    )
    return (
        "<get-pat-cash><reply-text>ok</reply-text><reply-code>0000</reply-code>"
        f'<cash><institution code="USM50"/></cash>{cash}</get-pat-cash>'
    )


def test_reading_gives_each_open_debit_of_the_cash_list(server):
    server.route("GET", CASH, Reply(200, cash_list(
        ("USM50000000042000007", "(19.99)", "Debit", "O"),
        ("USM50000000042000008", "(5.00)", "Debit", "C"),
        ("USM50000000042000009", "3.00", "Credit", "O"),
    )))  # fmt: skip

    (fee,) = _target(server).read_account("ID0042").fees

    assert (fee.fee_id, fee.outstanding_cents, fee.external_type, fee.owner_code, fee.item) == (
        "USM50000000042000007", 1999, "Overdue", "MAIN", "Momo",
    )  # fmt: skip
    assert server.sent("GET", CASH)[0].arg("view") == "full"


def test_a_cash_list_that_is_not_xml_is_malformed(server):
    server.route("GET", CASH, Reply(200, "Service unavailable"))

    with pytest.raises(MalformedAnswer, match="not XML"):
        _target(server).read_account("ID0042")


def test_a_sum_that_is_not_an_amount_is_malformed(server):
    server.route("GET", CASH, Reply(200, cash_list(("USM5001", "(abc)", "Debit", "O"))))

    with pytest.raises(MalformedAnswer, match="not an amount"):
        _target(server).read_account("ID0042")


# --- the patron's own data, from the address resource ----------------------------------


def test_the_patrons_name_and_email_are_read_from_the_address(server):
    patron = _target(server).read_account("ID0042").patron

    assert (patron.external_id, patron.last_name, patron.first_name, patron.email) == (
        "ID0042", "Momo", "Mia", "mia@example.org",
    )  # fmt: skip
    (asked,) = server.sent("GET", ADDRESS)
    assert asked.query == {}


def test_the_address_carries_no_card_number_so_none_is_given(server):
    assert _target(server).read_account("ID0042").patron.card_number == ""


def test_a_name_without_a_comma_is_all_last_name(server):
    server.route("GET", ADDRESS, Reply(200, address(name="Stadtbibliothek Nord")))

    patron = _target(server).read_account("ID0042").patron

    assert (patron.last_name, patron.first_name) == ("Stadtbibliothek Nord", "")


def test_of_several_email_addresses_the_first_is_taken(server):
    server.route("GET", ADDRESS, Reply(200, address(email="mia@example.org; m@example.net")))

    assert _target(server).read_account("ID0042").patron.email == "mia@example.org"


def test_the_address_is_read_after_the_cash_list_in_the_same_read(server):
    _target(server).read_account("ID0042")

    assert [r.path for r in server.requests] == [
        "/rest-dlf/patron/ID0042/circulationActions/cash", ADDRESS,
    ]  # fmt: skip


def test_an_address_answer_that_is_not_xml_is_malformed(server):
    server.route("GET", ADDRESS, Reply(200, "Service unavailable"))

    with pytest.raises(MalformedAnswer, match="not XML"):
        _target(server).read_account("ID0042")


def test_an_address_answer_without_address_information_is_malformed(server):
    empty = "<get-pat-adrs><reply-text>ok</reply-text><reply-code>0000</reply-code></get-pat-adrs>"
    server.route("GET", ADDRESS, Reply(200, empty))

    with pytest.raises(MalformedAnswer, match="no address-information"):
        _target(server).read_account("ID0042")


def test_an_address_reply_code_other_than_0000_is_permanent(server):
    refused = (
        "<get-pat-adrs><reply-text>Failure</reply-text><reply-code>0019</reply-code></get-pat-adrs>"
    )
    server.route("GET", ADDRESS, Reply(200, refused))

    with pytest.raises(PermanentError, match="0019 Failure"):
        _target(server).read_account("ID0042")


def test_one_time_budget_covers_the_cash_list_and_the_address_together(server):
    server.route("GET", CASH, Reply(200, cash_list(), delay=0.3))
    server.route("GET", ADDRESS, Reply(200, address(), delay=0.3))

    with pytest.raises(TransientError):
        _target(server, timeout=0.5).read_account("ID0042")
