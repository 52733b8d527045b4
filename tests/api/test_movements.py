"""The feed of money movements: what it lists (exactly what is delivered), its cursor,
and the cursors it refuses."""

from urllib.parse import urlencode

import pytest

from fees import services as ledger
from fees.models import Delivery
from payments.library_systems.deliveries import deliveries_send_due
from tests.api.helpers import fee_body

# Committed bookings: on PostgreSQL the feed reads only what no running transaction can
# still precede, and a test's own transaction would be one.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(make_key):
    return make_key(scopes=["movements:read"], name="reader")


def read_feed(call, reader, **query):
    return call("get", f"/movements?{urlencode(query)}", None, reader)


def read_all(call, reader, limit):
    """Every page from the start until an empty one; the movements' keys."""
    keys, cursor = [], ""
    while True:
        page = read_feed(call, reader, cursor=cursor, limit=limit).json()
        if not page["movements"]:
            return keys
        keys += [movement["key"] for movement in page["movements"]]
        cursor = page["next_cursor"]


def book(patron, amount_cents, *, reported_by_the_library_system=False):
    """A payment; the key of its delivery."""
    payment = ledger.payment_book(
        patron=patron,
        amount_cents=amount_cents,
        method="cash",
        tell_library_system=not reported_by_the_library_system,
    )
    return Delivery.objects.get(entry=payment).key


class Recorder:
    name = "webhook"

    def __init__(self):
        self.keys = []

    def deliver(self, movement):
        self.keys.append(movement.key)
        return "booked"


def test_the_feed_pages_through_movements_with_its_cursor(call, reader, patron):
    for amount in (100, 200, 300):
        ledger.payment_book(patron=patron, amount_cents=amount, method="cash")

    first = read_feed(call, reader, limit=2).json()
    second = read_feed(call, reader, limit=2, cursor=first["next_cursor"]).json()
    third = read_feed(call, reader, limit=2, cursor=second["next_cursor"]).json()

    amounts = [m["amount_cents"] for m in first["movements"] + second["movements"]]
    assert amounts == [100, 200, 300]
    assert third["movements"] == [] and third["next_cursor"] == second["next_cursor"]


def test_the_feed_leaves_out_a_payment_the_library_system_reported_with_its_fee(
    call, key, reader, patron
):
    paid = fee_body(payment={"transaction_id": "ALEPH-T-1", "amount_cents": 250})
    assert call("post", "/fees", paid, key).status_code == 201
    ours = book(patron, 100)

    page = read_feed(call, reader).json()

    assert [movement["key"] for movement in page["movements"]] == [ours]


def test_the_feed_lists_exactly_what_the_worker_delivers(call, reader, patron):
    for amount in (100, 200, 300):
        book(patron, amount, reported_by_the_library_system=amount == 200)
    recorder = Recorder()

    deliveries_send_due(target=recorder)

    assert read_all(call, reader, limit=100) == recorder.keys
    assert len(recorder.keys) == 2


def test_paging_past_reported_payments_misses_no_later_movement(call, reader, patron):
    listed = []
    for amount in range(1, 9):
        reported = amount % 3 != 1  # two of every three, also the last two
        key = book(patron, amount * 100, reported_by_the_library_system=reported)
        if not reported:
            listed.append(key)

    assert read_all(call, reader, limit=1) == listed


def test_the_feed_needs_its_scope(call, make_key):
    response = call("get", "/movements", None, make_key(scopes=["fees:write"], name="w"))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        "\u0661.\u0662",  # Arabic-Indic digits
        "\uff11.\uff12",  # full-width digits
        "1_0.1",
        " 5.5 ",
        "5.5\n",
        "-1.-1",
        "+1.2",
        "01.2",
        "1.2.3",
        "1",
        ".1",
        "1.",
        "1.2\x00",
        "99999999999999999999.1",
        "1.9223372036854775808",  # bigint's largest + 1
    ],
)
def test_the_feed_refuses_a_cursor_it_did_not_give_out(call, reader, cursor):
    response = read_feed(call, reader, cursor=cursor)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "error": {
            "code": "bad_request",
            "message": "The cursor is not valid.",
            "fields": [{"field": "cursor", "message": "Not a cursor this feed gave out."}],
        }
    }


def test_the_feed_takes_the_largest_cursor_it_could_give_out(call, reader, patron):
    book(patron, 100)
    cursor = "9223372036854775807.9223372036854775807"

    response = read_feed(call, reader, cursor=cursor)

    assert response.status_code == 200
    assert response.json() == {"movements": [], "next_cursor": cursor}
