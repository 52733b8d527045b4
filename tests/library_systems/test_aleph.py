import dataclasses
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems import aleph, get_target
from payments.library_systems.base import PermanentError, TransientError
from tests.library_systems.aleph_fake import CASH, fake_aleph
from tests.library_systems.fake_server import Reply, closed_port_url
from tests.library_systems.movements import payment


def _transaction(cash_id: str, *texts: str) -> str:
    fields = "".join(f"<z31-payment-identifier>{text}</z31-payment-identifier>" for text in texts)
    return (
        "<get-pat-cash><reply-text>ok</reply-text><reply-code>0000</reply-code>"
        f'<cash href="{cash_id}"><z31>{fields}<z31-sum>(19.99)</z31-sum></z31></cash>'
        "</get-pat-cash>"
    )


PAYMENT = payment("ID0042", (("USM50000000042000007", ""), ("USM50000000042000008", "")))


@pytest.fixture
def server():
    with fake_aleph() as fake:
        fake.route("GET", CASH + r"/\w+", lambda r: Reply(200, _transaction(r.path[-20:])))
        yield fake
        assert fake.violations == []


def _target(server):
    return aleph.AlephTarget(url=server.url + "/rest-dlf", institution="USM50", timeout=0.5)


def _paid(server) -> dict[str, tuple[str, str]]:
    """Path tail -> (sum, pay-reference) of each PUT."""
    paid = {}
    for request in server.sent("PUT"):
        parameters = ET.fromstring(request.body.removeprefix(b"post_xml="))
        tail = request.path.rsplit("/", 1)[1]
        paid[tail] = (parameters.findtext("sum"), parameters.findtext("pay-reference"))
    return paid


def test_payment_pays_each_cash_transaction_its_share(server):
    _target(server).deliver(PAYMENT)

    paid = _paid(server)
    assert paid["USM50000000042000007"] == ("19.99", "mv-7f3a")
    assert paid["USM50000000042000008"] == ("0.10", "mv-7f3a")


def test_money_without_a_fee_is_paid_on_the_cash_list(server):
    _target(server).deliver(PAYMENT)

    assert _paid(server)["cash"] == ("5.01", "mv-7f3a/all")


def test_body_is_raw_post_xml_without_content_type(server):
    _target(server).deliver(PAYMENT)

    put = server.sent("PUT")[0]
    assert put.body.startswith(b"post_xml=<pay-cash-parameters><sum>")
    assert "content-type" not in put.headers


def test_key_that_a_raw_body_would_alter_is_permanent_and_sends_nothing(server):
    with pytest.raises(PermanentError, match="cannot carry safely"):
        _target(server).deliver(dataclasses.replace(PAYMENT, key="a+b&c"))

    assert server.requests == []


def test_retry_skips_transactions_showing_the_key(server):
    server.route("GET", CASH + r"/USM50000000042000007", Reply(200, _transaction("7", "mv-7f3a")))

    note = _target(server).deliver(PAYMENT)

    assert set(_paid(server)) == {"USM50000000042000008", "cash"}
    assert "1 already paid" in note


def test_key_of_the_cash_list_payment_does_not_count_as_a_fee_payment(server):
    server.route(
        "GET", CASH + r"/USM50000000042000007", Reply(200, _transaction("7", "mv-7f3a/all"))
    )

    _target(server).deliver(PAYMENT)

    assert "USM50000000042000007" in _paid(server)


def test_retry_skips_the_cash_list_payment_once_made(server):
    server.route("GET", CASH, Reply(200, _transaction("9", "mv-7f3a/all")))

    _target(server).deliver(PAYMENT)

    assert "cash" not in _paid(server)


def test_reply_code_other_than_0000_is_permanent(server):
    refused = (
        "<put-pat-cash><reply-text>Failure</reply-text><reply-code>0025</reply-code>"
        "<note>Sum is larger than the debt</note></put-pat-cash>"
    )
    server.route("PUT", CASH + r"/\w+", Reply(200, refused))

    with pytest.raises(PermanentError, match="0025 Failure Sum is larger than the debt"):
        _target(server).deliver(PAYMENT)


@pytest.mark.parametrize("kind", ["reversal", "refund"])
def test_reversal_and_refund_are_permanent_and_send_nothing(server, kind):
    movement = dataclasses.replace(PAYMENT, kind=kind, key="mv-2")

    with pytest.raises(PermanentError, match=f"Aleph cannot take a {kind}.*25.10 EUR"):
        _target(server).deliver(movement)

    assert server.requests == []


def test_movement_without_patron_id_is_permanent_and_sends_nothing(server):
    with pytest.raises(PermanentError, match="no Aleph patron id"):
        _target(server).deliver(dataclasses.replace(PAYMENT, patron_external_id=""))

    assert server.requests == []


def test_client_error_is_permanent(server):
    server.route("PUT", CASH + r"/\w+", Reply(403, "Forbidden"))

    with pytest.raises(PermanentError, match="403"):
        _target(server).deliver(PAYMENT)


def test_server_error_is_transient(server):
    server.route("PUT", CASH + r"/\w+", Reply(502, "Bad gateway"))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_answer_that_is_not_xml_is_transient(server):
    server.route("GET", CASH + r"/\w+", Reply(200, "Service temporarily unavailable"))

    with pytest.raises(TransientError, match="not XML"):
        _target(server).deliver(PAYMENT)


def test_timeout_is_transient(server):
    server.route("PUT", CASH + r"/\w+", Reply(hang=True))

    with pytest.raises(TransientError):
        _target(server).deliver(PAYMENT)


def test_refused_connection_is_transient():
    target = aleph.AlephTarget(url=closed_port_url(), institution="USM50", timeout=0.5)

    with pytest.raises(TransientError):
        target.deliver(PAYMENT)


def test_from_settings_needs_the_adm_library(settings):
    settings.LIBRARY_SYSTEM_URL = "http://aleph.example.org:1891/rest-dlf"
    settings.LIBRARY_SYSTEM_LIBRARY = ""

    with pytest.raises(ImproperlyConfigured):
        aleph.from_settings()


def test_get_target_builds_it_from_the_library_system_settings(settings):
    settings.LIBRARY_SYSTEM_URL = "http://aleph.example.org:1891/rest-dlf/"
    settings.LIBRARY_SYSTEM_LIBRARY = "USM50"
    settings.LIBRARY_SYSTEM_USER = ""

    target = get_target("aleph")

    assert target.name == "aleph"
    assert (target.url, target.institution, target.auth) == (
        "http://aleph.example.org:1891/rest-dlf",
        "USM50",
        None,
    )
