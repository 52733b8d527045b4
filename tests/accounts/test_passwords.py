"""accounts.passwords and the reset pages: a password of the portal's, reset by card number
or e-mail, a first one set by e-mail, throttled."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import PasswordResetRequest
from accounts.passwords import set_password_email_send
from accounts.services import patron_create
from tests.factories import PatronFactory

pytestmark = pytest.mark.django_db


def ask_reset(client, typed, **extra):
    return client.post(reverse("accounts:password_reset"), {"email": typed}, **extra)


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def choose(client, link, password="a-New-pass-2026"):
    page = client.get(link, follow=True)  # Django moves the token into the session first
    return client.post(
        page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )


def test_a_reset_by_card_number_e_mails_a_link_that_sets_the_new_password(client):
    patron = PatronFactory(card_number="1234567890", email="p@example.org")

    ask_reset(client, " 12345 67890 ")
    choose(client, link_in(mail.outbox[0]))

    patron.user.refresh_from_db()
    assert mail.outbox[0].to == ["p@example.org"]
    assert patron.user.check_password("a-New-pass-2026")


def test_a_reset_by_e_mail_address_finds_the_patron_in_any_case(client):
    PatronFactory(email="p@example.org")

    ask_reset(client, "P@Example.ORG")

    assert len(mail.outbox) == 1


def test_an_unknown_card_gets_the_same_page_and_no_e_mail(client):
    PatronFactory(card_number="1234567890", email="p@example.org")

    known = ask_reset(client, "1234567890")
    unknown = ask_reset(client, "0000000000")

    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 1


def test_a_patron_the_api_created_without_a_password_can_choose_one(client):
    patron = patron_create(user_number="U1", card_number="C1", last_name="Muster",
                           email="m@example.org")  # fmt: skip

    ask_reset(client, "C1")
    choose(client, link_in(mail.outbox[0]))

    patron.user.refresh_from_db()
    assert patron.user.has_usable_password()


def test_a_reset_link_works_once(client):
    PatronFactory(card_number="1234567890", email="p@example.org")
    ask_reset(client, "1234567890")
    link = link_in(mail.outbox[0])
    choose(client, link)

    page = client.get(link, follow=True)

    assert "has already been used or has expired" in page.content.decode()


def test_more_resets_of_one_card_than_allowed_in_an_hour_are_paused(client, settings):
    settings.PASSWORD_RESET_PER_HOUR = 2
    PatronFactory(card_number="1234567890", email="p@example.org")
    for _ in range(2):
        ask_reset(client, "1234567890")

    response = ask_reset(client, "1234 567890")

    assert response.status_code == 429
    assert len(mail.outbox) == 2


def test_one_address_asking_for_many_cards_is_paused(client, settings):
    settings.PASSWORD_RESET_PER_HOUR = 1
    for number in range(4):
        ask_reset(client, f"999{number}")

    assert ask_reset(client, "9995").status_code == 429


def test_what_is_typed_is_not_kept_in_plain_text(client):
    ask_reset(client, "1234567890")

    (request,) = PasswordResetRequest.objects.all()
    assert "1234567890" not in request.identifier_digest


def test_patrons_get_no_reset_when_the_library_turns_portal_passwords_off(client, settings):
    settings.SIGN_IN_METHODS = ["library_card"]
    settings.LIBRARY_SYSTEM_TARGET = "koha"
    PatronFactory(card_number="1234567890", email="p@example.org")

    ask_reset(client, "1234567890")

    assert mail.outbox == []


def test_the_set_password_e_mail_names_the_library_and_holds_a_working_link(client, rf, settings):
    settings.LIBRARY_NAME = "Stadtbibliothek Musterstadt"
    patron = patron_create(user_number="U1", card_number="C1", last_name="Muster",
                           email="m@example.org")  # fmt: skip

    assert set_password_email_send(patron=patron, request=rf.get("/"))

    (message,) = mail.outbox
    assert "Stadtbibliothek Musterstadt" in message.subject
    choose(client, link_in(message))
    patron.user.refresh_from_db()
    assert patron.user.has_usable_password()


def test_a_patron_without_an_e_mail_address_is_sent_nothing(rf):
    patron = PatronFactory(email="")
    patron.user.email = ""

    assert not set_password_email_send(patron=patron, request=rf.get("/"))
    assert mail.outbox == []


def test_the_admin_action_e_mails_the_chosen_patrons(admin_client):
    patron = PatronFactory(email="p@example.org")

    admin_client.post(
        reverse("admin:accounts_patron_changelist"),
        {"action": "send_set_password_email", "_selected_action": [patron.pk]},
    )

    assert [m.to for m in mail.outbox] == [["p@example.org"]]
