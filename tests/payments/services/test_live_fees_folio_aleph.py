"""Fees and patron data read live (payments.services.live_fees.fees_read) from a fake FOLIO
and a fake Aleph, each checked against what its vendor describes (see their adapter tests)."""

import pytest

from fees import selectors
from fees.models import EntryKind, JournalEntry
from payments.models import FeesRead
from payments.services.live_fees import fees_read
from tests.factories import PatronFactory
from tests.library_systems.aleph_fake import ADDRESS, CASH, fake_aleph
from tests.library_systems.fake_server import Reply
from tests.library_systems.folio_fake import SERVICE_POINT, USERS, fake_folio, user

pytestmark = pytest.mark.django_db

FOLIO_USER = "a1b2c3d4-0000-4000-8000-00000000aa01"
FOLIO_ACCOUNT = {
    "id": "0d6a6a2e-8c5f-4a47-9f7a-000000000001", "amount": 4.0, "remaining": 4.0,
    "status": {"name": "Open"}, "paymentStatus": {"name": "Outstanding"},
    "userId": FOLIO_USER, "feeFineId": "9f0b6b1e-2222-4222-8222-00000000cc03",
    "ownerId": "b5f2a7c4-1111-4111-8111-00000000bb02", "feeFineType": "Overdue fine",
}  # fmt: skip


@pytest.fixture
def folio_system(settings):
    with fake_folio() as server:
        server.route("GET", r"/accounts", Reply(200, {"accounts": [FOLIO_ACCOUNT],
                                                      "totalRecords": 1}))  # fmt: skip
        settings.LIBRARY_SYSTEM_TARGET = "folio"
        settings.LIBRARY_SYSTEM_URL = server.url
        settings.LIBRARY_SYSTEM_TENANT = "diku"
        settings.LIBRARY_SYSTEM_API_KEY = "okapi-token"
        settings.LIBRARY_SYSTEM_LIBRARY = SERVICE_POINT
        settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 3  # roomy: the fake checks every answer
        yield server
        assert server.violations == []


def _patron_data(patron) -> tuple[str, str, str, str]:
    patron.refresh_from_db()
    return patron.card_number, patron.last_name, patron.first_name, patron.email


def test_the_patrons_data_is_taken_from_folio_with_the_fees(folio_system):
    patron = PatronFactory(external_id=FOLIO_USER, email="old@example.org")

    read = fees_read(patron=patron)

    assert read.ok and read.changed
    assert _patron_data(patron) == ("2000123", "Momo", "Mia", "mia@example.org")
    assert selectors.balance_cents(patron=patron) == 400


def test_a_malformed_folio_user_fails_the_read_and_changes_nothing(folio_system):
    patron = PatronFactory(external_id=FOLIO_USER)
    before = _patron_data(patron)
    folio_system.route("GET", USERS, Reply(200, user(FOLIO_USER, personal="Momo"), off_spec=True))

    read = fees_read(patron=patron)

    assert not read.ok
    assert _patron_data(patron) == before
    assert not JournalEntry.objects.filter(patron=patron, kind=EntryKind.FEE).exists()
    assert FeesRead.objects.get(patron=patron).failing


ALEPH_CASH = (
    "<get-pat-cash><reply-text>ok</reply-text><reply-code>0000</reply-code>"
    '<cash><institution code="USM50"/></cash>'
    '<cash href="http://aleph/rest-dlf/patron/ID0042/circulationActions/cash/USM5000042000007">'
    "<z31><z31-sum>(2.50)</z31-sum><z31-credit-debit>Debit</z31-credit-debit>"
    "<z31-status>O</z31-status><z31-type>Overdue</z31-type></z31></cash></get-pat-cash>"
)


@pytest.fixture
def aleph_system(settings):
    with fake_aleph() as server:
        server.route("GET", CASH, Reply(200, ALEPH_CASH))
        settings.LIBRARY_SYSTEM_TARGET = "aleph"
        settings.LIBRARY_SYSTEM_URL = server.url + "/rest-dlf"
        settings.LIBRARY_SYSTEM_LIBRARY = "USM50"
        settings.LIBRARY_SYSTEM_USER = ""
        settings.LIBRARY_SYSTEM_TIMEOUT_SECONDS = 3
        yield server
        assert server.violations == []


def test_the_patrons_name_and_email_are_taken_from_aleph_and_the_card_kept(aleph_system):
    patron = PatronFactory(external_id="ID0042", email="old@example.org")
    card = patron.card_number

    read = fees_read(patron=patron)

    assert read.ok and read.changed
    assert _patron_data(patron) == (card, "Momo", "Mia", "mia@example.org")
    assert selectors.balance_cents(patron=patron) == 250


def test_a_malformed_aleph_address_fails_the_read_and_changes_nothing(aleph_system):
    patron = PatronFactory(external_id="ID0042")
    before = _patron_data(patron)
    aleph_system.route("GET", ADDRESS, Reply(200, "<get-pat-adrs/>"))

    read = fees_read(patron=patron)

    assert not read.ok
    assert _patron_data(patron) == before
    assert not JournalEntry.objects.filter(patron=patron, kind=EntryKind.FEE).exists()
    assert FeesRead.objects.get(patron=patron).failing
