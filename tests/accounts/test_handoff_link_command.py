"""manage.py handoff_link: a signed link, as a catalogue makes it, that the portal takes."""

import time
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from accounts.handoff import DEMO_SECRET
from payments.checks import handoff_check
from tests.accounts.handoff_links import SECRET
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _handoff_settings(settings):
    settings.HANDOFF_SECRET = SECRET
    settings.HANDOFF_PATRON_MATCH = "card_number"
    settings.HANDOFF_RETURN_HOSTS = ["opac.example.org"]
    settings.LIBRARY_SYSTEM_TARGET = ""


def printed_link(*args) -> str:
    out = StringIO()
    call_command("handoff_link", *args, stdout=out)
    return out.getvalue().strip()


def test_the_printed_link_signs_the_patron_in(client):
    patron = PatronFactory(card_number="1000000001")
    link = urlsplit(printed_link("1000000001", "--return", "https://opac.example.org/x"))

    response = client.get(f"{link.path}?{link.query}")

    assert response.url == "/account/"
    assert int(client.session["_auth_user_id"]) == patron.user_id


def test_the_link_lives_no_longer_than_the_portal_allows(settings):
    settings.HANDOFF_MAX_AGE_SECONDS = 60
    link = urlsplit(printed_link("1000000001", "--seconds", "3600"))

    expires = int(parse_qs(link.query)["expires"][0])

    assert expires - time.time() <= 60


def test_without_a_secret_there_is_no_link(settings):
    settings.HANDOFF_SECRET = ""

    with pytest.raises(CommandError, match="HANDOFF_SECRET"):
        printed_link("1000000001")


def test_the_demos_secret_fails_the_system_check_outside_development(settings):
    settings.DEBUG = False
    settings.HANDOFF_SECRET = DEMO_SECRET

    errors = handoff_check(None)

    assert [error.id for error in errors] == ["payments.E006"]


def test_the_demos_secret_is_fine_in_development(settings):
    settings.DEBUG = True
    settings.HANDOFF_SECRET = DEMO_SECRET

    assert handoff_check(None) == []
