"""A fake Aleph rest-dlf for the adapter tests. Ex Libris publishes no machine-readable
description: the requests are checked against the parameters its documentation lists, and
the answers against the elements its resources are documented (or, where the documentation
is silent, read by Aleph's clients) to have. Sources: payments/library_systems/aleph.py."""

import re
import xml.etree.ElementTree as ET

from tests.library_systems.fake_server import FakeServer, Reply

CASH = r"/rest-dlf/patron/ID0042/circulationActions/cash"
ADDRESS = r"/rest-dlf/patron/ID0042/patronInformation/address"
OK = "<put-pat-cash><reply-text>ok</reply-text><reply-code>0000</reply-code></put-pat-cash>"
EMPTY_LIST = (
    "<get-pat-cash><reply-text>ok</reply-text><reply-code>0000</reply-code>"
    '<cash><institution code="USM50"/></cash></get-pat-cash>'
)
CASH_RESOURCE = re.compile(r"/rest-dlf/patron/[^/]+/circulationActions/cash(/[^/]+)?")
ADDRESS_RESOURCE = re.compile(r"/rest-dlf/patron/[^/]+/patronInformation/address")


def documented_aleph(request) -> list[str]:
    """The Cash resource as documented (GET: institution, view=brief|full), the pay-cash
    PUT as this adapter assumes it (see payments/library_systems/aleph.py), and Patrons >
    Patron Information > address (GET, no parameters: Ex Libris' resource tree; VuFind's
    Aleph driver, getMyProfileDLF, asks it so)."""
    if ADDRESS_RESOURCE.fullmatch(request.path):
        problems = [f"parameter {name} is not documented" for name in request.query]
        if request.method != "GET":
            problems.append(f"{request.method} of the address is not what the portal does")
        return problems + (["the address GET takes no body"] if request.body else [])
    if not CASH_RESOURCE.fullmatch(request.path):
        return ["not the Cash resource"]
    allowed = {"institution", "view"} if request.method == "GET" else {"institution"}
    problems = [
        f"parameter {name} is not documented" for name in request.query if name not in allowed
    ]
    if request.arg("institution") != "USM50":
        problems.append("institution (the ADM library) is missing")
    if request.method == "GET":
        if request.arg("view") not in (None, "brief", "full"):
            problems.append(f"view={request.arg('view')!r}")
        return problems
    if request.method != "PUT":
        return [*problems, f"{request.method} is not how Aleph takes a payment"]
    if not request.body.startswith(b"post_xml=<"):
        return [*problems, "the body is not post_xml=<xml>"]
    parameters = ET.fromstring(request.body.removeprefix(b"post_xml="))
    if parameters.tag != "pay-cash-parameters":
        problems.append(f"root element is {parameters.tag}")
    if [child.tag for child in parameters] != ["sum", "pay-reference"]:
        problems.append(f"elements are {[child.tag for child in parameters]}")
    if not re.fullmatch(r"\d+\.\d\d", parameters.findtext("sum") or ""):
        problems.append(f"sum {parameters.findtext('sum')!r} is not a decimal with cents")
    return problems


# The elements of the Cash resource's answers (the brief and full views as Aleph clients
# read them): a fake's answer that uses others is a test failure.
CASH_ELEMENTS = {
    "get-pat-cash", "reply-text", "reply-code", "cash", "institution", "open-sum", "z31",
    "z31-sum", "z31-credit-debit", "z31-status", "z31-type", "z31-date", "z31-description",
    "z31-sub-library", "z31-payment-identifier", "z13", "z13-title", "z13-author", "z13-year",
    "put-pat-cash", "note",
}  # fmt: skip
# The address resource's answer: the Z304 address record's fields, in <address-information>
# (the root's name, get-pat-adrs, is assumed: the clients read only what is inside).
ADDRESS_ELEMENTS = {
    "get-pat-adrs", "reply-text", "reply-code", "address-information", "z304-address-1",
    "z304-address-2", "z304-address-3", "z304-address-4", "z304-address-5", "z304-zip",
    "z304-email-address", "z304-telephone-1", "z304-telephone-2", "z304-date-from",
    "z304-date-to", "z304-address-type",
}  # fmt: skip


def documented_answer(request, reply) -> list[str]:
    if reply.off_spec or not isinstance(reply.body, str) or not reply.body.startswith("<"):
        return []
    resource, known = ("Cash resource", CASH_ELEMENTS)
    if ADDRESS_RESOURCE.fullmatch(request.path):
        resource, known = ("address resource", ADDRESS_ELEMENTS)
    return [
        f"element {element.tag} is not in the {resource}"
        for element in ET.fromstring(reply.body).iter()
        if element.tag not in known
    ]


documented_aleph.answer_problems = documented_answer


def address(name: str = "Momo, Mia", email: str = "mia@example.org") -> str:
    """The address resource's answer: the patron's (default) Z304 address."""
    return (
        "<get-pat-adrs><reply-text>ok</reply-text><reply-code>0000</reply-code>"
        f"<address-information><z304-address-1>{name}</z304-address-1>"
        "<z304-address-2>Hauptstr. 1</z304-address-2><z304-zip>12345</z304-zip>"
        f"<z304-email-address>{email}</z304-email-address>"
        "<z304-date-from>20200101</z304-date-from><z304-date-to>20991231</z304-date-to>"
        "</address-information></get-pat-adrs>"
    )


def fake_aleph() -> FakeServer:
    """``with fake_aleph() as server:``: an empty cash list, payments taken, and the
    patron's address."""
    fake = FakeServer(documented_aleph)
    fake.route("GET", CASH, Reply(200, EMPTY_LIST))
    fake.route("PUT", CASH + r"(/\w+)?", Reply(200, OK))
    fake.route("GET", ADDRESS, Reply(200, address()))
    return fake
