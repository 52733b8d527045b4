"""Checking a card's PIN with Aleph's X-server (op=bor-auth). Ex Libris publishes no
machine-readable description of the X-server: the fake checks the parameters its
bor-auth service takes (Ex Libris' X-Services list; the clients cited in
payments/library_systems/aleph.py send the same) and answers as Aleph's clients read it."""

import pytest

from payments.library_systems import aleph
from payments.library_systems.base import PermanentError, TransientError
from payments.library_systems.pins import PinRefused
from payments.library_systems.reading import MalformedAnswer
from tests.library_systems.fake_server import FakeServer, Reply

BOR_AUTH_PARAMETERS = {"op", "library", "sub_library", "bor_id", "verification", "translate",
                       "user_name", "user_password"}  # fmt: skip
RIGHT = (
    "<bor-auth><z303><z303-id>ID0042</z303-id><z303-name>Muster, Erika</z303-name></z303>"
    "<z304><z304-email-address>erika@example.org</z304-email-address></z304></bor-auth>"
)
WRONG = "<bor-auth><error>Error in Verification</error></bor-auth>"


def documented_x_server(request) -> list[str]:
    if request.path != "/X":
        return ["not the X-server"]
    if request.method != "POST" or request.query:
        return ["the portal posts its X-server calls as a form, nothing in the URL"]
    form = request.form()
    problems = [f"{name} is not a bor-auth parameter" for name in form
                if name not in BOR_AUTH_PARAMETERS]  # fmt: skip
    problems += [f"{name} is missing" for name in ("op", "library", "bor_id", "verification")
                 if name not in form]  # fmt: skip
    if form.get("op") != ["bor-auth"]:
        problems.append(f"op={form.get('op')}")
    return problems


def x_server_answer(request):
    form = request.form()
    if (form["bor_id"], form["verification"]) == (["2000123"], ["4711"]):
        return Reply(200, RIGHT)
    return Reply(200, WRONG)


@pytest.fixture
def server():
    with FakeServer(documented_x_server) as fake:
        fake.route("POST", r"/X", x_server_answer)
        yield fake
        assert fake.violations == []


def _target(server, **options):
    return aleph.AlephTarget(url=server.url + "/rest-dlf", institution="USM50",
                             xserver_url=server.url + "/X", timeout=2, **options)  # fmt: skip


def test_a_right_pin_gives_the_aleph_patron_id(server):
    assert _target(server).check_pin("2000123", "4711") == "ID0042"


def test_the_pin_goes_in_the_posted_form_with_the_adm_library(server):
    _target(server, user="WWW-X", password="x-secret").check_pin("2000123", "4711")

    (request,) = server.sent("POST", r"/X")
    assert request.form() == {
        "op": ["bor-auth"], "library": ["USM50"], "bor_id": ["2000123"],
        "verification": ["4711"], "user_name": ["WWW-X"], "user_password": ["x-secret"],
    }  # fmt: skip


def test_a_wrong_pin_is_refused(server):
    with pytest.raises(PinRefused):
        _target(server).check_pin("2000123", "0000")


def test_an_x_server_refusing_the_portals_account_is_permanent(server):
    server.route("POST", r"/X", Reply(200, "<bor-auth><error>User name or password is not "
                                           "valid</error></bor-auth>"))  # fmt: skip

    with pytest.raises(PermanentError, match="refused the portal"):
        _target(server).check_pin("2000123", "4711")


def test_aleph_down_while_checking_a_pin_is_transient(server):
    server.route("POST", r"/X", Reply(502, "Bad gateway"))

    with pytest.raises(TransientError):
        _target(server).check_pin("2000123", "4711")


def test_a_bor_auth_answer_that_is_not_xml_is_malformed(server):
    server.route("POST", r"/X", Reply(200, "<html>oops"))

    with pytest.raises(MalformedAnswer, match="not XML"):
        _target(server).check_pin("2000123", "4711")


def test_a_bor_auth_answer_without_a_patron_id_is_malformed(server):
    server.route("POST", r"/X", Reply(200, "<bor-auth><z303></z303></bor-auth>"))

    with pytest.raises(MalformedAnswer, match="z303-id"):
        _target(server).check_pin("2000123", "4711")


def test_the_x_server_is_found_on_the_rest_dlf_host_by_default():
    assert aleph.xserver_url_of("https://aleph.example.org:1892/rest-dlf") == (
        "https://aleph.example.org/X"
    )
