"""payments.services.patron_link: the patron a library system vouches for at sign-in."""

import pytest

from accounts.models import Patron
from accounts.signin import CARD_NUMBER, EXTERNAL_ID, USER_NUMBER, SignInUnavailable
from payments.library_systems.reading import MalformedAnswer
from payments.services.patron_link import (
    CardOfAnotherPatron,
    patron_of_identity,
    patron_of_library_system,
    user_number_for,
)
from tests.factories import PatronFactory
from tests.library_systems.fake_server import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(koha):
    koha.add_patron(42, "1000000042", "Muster", firstname="Erika")
    return koha


def test_a_patron_new_here_gets_the_library_systems_id_as_user_number(known):
    patron = patron_of_library_system(external_id="42")

    assert (patron.user_number, patron.external_id) == ("42", "42")


def test_a_patron_known_by_the_id_is_the_one_returned(known):
    patron = PatronFactory(external_id="42")

    assert patron_of_library_system(external_id="42") == patron
    assert Patron.objects.count() == 1


def test_a_patron_the_api_created_under_the_same_user_number_is_linked(known):
    patron = PatronFactory(user_number="42", external_id="")

    assert patron_of_library_system(external_id="42") == patron


def test_a_card_held_by_a_patron_the_library_system_knows_otherwise_is_refused(known):
    PatronFactory(card_number="1000000042", external_id="77")

    with pytest.raises(CardOfAnotherPatron):
        patron_of_library_system(external_id="42")
    assert not Patron.objects.filter(external_id="42").exists()


def test_a_patron_without_a_card_in_the_library_system_is_not_created(known):
    known.patrons[42].cardnumber = ""

    with pytest.raises(MalformedAnswer, match="no card"):
        patron_of_library_system(external_id="42")
    assert not Patron.objects.exists()


def test_a_folio_uuid_becomes_the_user_number_without_its_dashes():
    uuid = "9b2c6d4e-1f0a-4c3b-8e7d-6a5b4c3d2e1f"

    assert user_number_for(uuid, "C1") == uuid.replace("-", "")


def test_a_user_number_taken_here_falls_back_to_the_card_number():
    PatronFactory(user_number="42")

    assert user_number_for("42", "1000000042") == "1000000042"


# --- the patron single sign-on or a hand-off names ---------------------------------------


def test_an_identity_naming_the_library_systems_id_creates_the_patron_from_it(known):
    patron = patron_of_identity(value="42", match=EXTERNAL_ID)

    assert (patron.external_id, patron.last_name) == ("42", "Muster")


def test_an_identity_the_library_system_does_not_know_names_nobody(known):
    assert patron_of_identity(value="43", match=EXTERNAL_ID) is None
    assert not Patron.objects.exists()


def test_an_identity_naming_a_card_known_here_reads_that_patron(known):
    patron = PatronFactory(card_number="1000000042", external_id="42", last_name="Old")

    assert patron_of_identity(value="1000 000042", match=CARD_NUMBER) == patron
    patron.refresh_from_db()
    assert patron.last_name == "Muster"


def test_an_identity_naming_a_user_number_finds_the_patron_the_api_sent(known):
    patron = PatronFactory(user_number="S-7781")

    assert patron_of_identity(value="s-7781", match=USER_NUMBER) == patron


def test_a_known_patron_gets_in_when_the_library_system_cannot_say(known):
    patron = PatronFactory(external_id="42")
    known.server.route("GET", r"/api/v1/patrons/42/account", Reply(503, {"error": "down"}))

    assert patron_of_identity(value="42", match=EXTERNAL_ID) == patron


def test_someone_new_is_not_let_in_when_the_library_system_cannot_say(known):
    known.server.route("GET", r"/api/v1/patrons/42/account", Reply(503, {"error": "down"}))

    with pytest.raises(SignInUnavailable):
        patron_of_identity(value="42", match=EXTERNAL_ID)


def test_without_a_library_system_only_patrons_known_here_are_named(settings):
    settings.LIBRARY_SYSTEM_TARGET = ""
    patron = PatronFactory(card_number="C77")

    assert patron_of_identity(value="c77", match=CARD_NUMBER) == patron
    assert patron_of_identity(value="C78", match=CARD_NUMBER) is None
