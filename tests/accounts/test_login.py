import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.cards import normalize_card_number
from tests.factories import PASSWORD, DeskStaffFactory, PatronFactory

pytestmark = pytest.mark.django_db


def log_in(client, username, password=PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_patron_logs_in_with_card_number_and_lands_on_the_account(client):
    patron = PatronFactory(card_number="1234567890")

    response = log_in(client, "1234567890")

    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    assert int(client.session["_auth_user_id"]) == patron.user_id
    assert client.get(response.url).url == reverse("payments:account")


def test_card_number_with_spaces_is_accepted(client):
    PatronFactory(card_number="1234567890")

    response = log_in(client, " 12345 67890 ")

    assert response.status_code == 302


def test_wrong_password_is_refused_with_a_message(client):
    PatronFactory(card_number="1234567890")

    response = log_in(client, "1234567890", "wrong")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "or the password is not right" in response.content.decode()


def test_unknown_card_number_is_refused(client):
    response = log_in(client, "0000000000")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_deactivated_patron_cannot_log_in(client):
    patron = PatronFactory(card_number="1234567890")
    patron.user.is_active = False
    patron.user.save()

    log_in(client, "1234567890")

    assert "_auth_user_id" not in client.session


def test_staff_log_in_with_their_user_name(client):
    staff = DeskStaffFactory(username="desk7")

    log_in(client, "desk7")

    assert int(client.session["_auth_user_id"]) == staff.pk


def test_login_form_requires_csrf_token():
    from django.test import Client

    PatronFactory(card_number="1234567890")
    client = Client(enforce_csrf_checks=True)

    response = log_in(client, "1234567890")

    assert response.status_code == 403


def test_logout_is_a_post(client):
    patron = PatronFactory()
    client.force_login(patron.user)

    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session


def test_desk_staff_group_holds_the_desk_permissions():
    group = Group.objects.get(name="Desk staff")

    codenames = set(group.permissions.values_list("codename", flat=True))

    assert codenames == {
        "use_desk",
        "cancel_order",
        "complete_order",
        "book_late_payment",
        "book_counter_entry",
        "manage_deliveries",
        "resolve_flag",
    }


def test_desk_staff_have_the_desk_permissions_and_patrons_do_not():
    staff = DeskStaffFactory()
    patron = PatronFactory()

    assert staff.has_perm("accounts.use_desk")
    assert staff.has_perm("accounts.book_counter_entry")
    assert not patron.user.has_perm("accounts.use_desk")


def test_login_is_paused_after_five_wrong_passwords(client, settings):
    PatronFactory(card_number="1234567890")
    for _ in range(5):
        log_in(client, "1234567890", "wrong")

    response = log_in(client, "1234567890")

    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_other_card_numbers_can_still_log_in_during_a_pause(client):
    PatronFactory(card_number="1234567890")
    other = PatronFactory(card_number="5555555555")
    for _ in range(5):
        log_in(client, "1234567890", "wrong")

    log_in(client, "5555555555")

    assert int(client.session["_auth_user_id"]) == other.user_id


@pytest.mark.parametrize(
    ("card_number", "wrong_tries", "last_try"),
    [
        pytest.param(
            "1234567890",
            ["1234567890", "1234 567890", "12 34567890", " 1234567890", "12345\t67890"],
            "123 456 7890 ",
            id="other-spacing",
        ),
        pytest.param(
            "LB12345678",
            ["LB12345678", "lb12345678", "Lb12345678", "lB 12345678", "lb1234 5678"],
            "LB12345678",
            id="other-case",
        ),
    ],
)
def test_wrong_passwords_typed_with_other_spacing_or_case_count_towards_one_pause(
    client, card_number, wrong_tries, last_try
):
    PatronFactory(card_number=card_number)
    for typed in wrong_tries:
        log_in(client, typed, "wrong")

    response = log_in(client, last_try)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_card_number_typed_in_lower_case_with_spaces_logs_in(client):
    patron = PatronFactory(card_number="LB12345678")

    response = log_in(client, " lb 1234\t5678 ")

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == patron.user_id


def test_normalize_card_number_removes_all_whitespace_and_upper_cases():
    assert normalize_card_number(" lb 12\t34\u00a056\n78 ") == "LB12345678"


def test_the_session_key_changes_at_sign_in(client):
    PatronFactory(card_number="1234567890")
    client.get(reverse("accounts:login"))
    client.session.save()
    before = client.session.session_key

    log_in(client, "1234567890")

    assert client.session.session_key != before


OFF_SITE = ["https://evil.example/pay", "//evil.example/pay", "/\\evil.example", "javascript:x"]


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_a_sign_in_never_follows_next_to_another_host(client, next_url):
    PatronFactory(card_number="1234567890")

    response = client.post(
        reverse("accounts:login"),
        {"username": "1234567890", "password": PASSWORD, "next": next_url},
    )

    assert response.status_code == 302
    assert response.url == reverse("accounts:home")


def test_a_sign_in_follows_next_within_the_portal(client):
    PatronFactory(card_number="1234567890")

    response = client.post(
        reverse("accounts:login"),
        {"username": "1234567890", "password": PASSWORD, "next": "/orders/"},
    )

    assert response.url == "/orders/"


def test_someone_single_sign_on_names_but_nobody_knows_gets_the_not_linked_page(client):
    response = client.get(reverse("accounts:not_linked"))

    assert response.status_code == 403
    assert "not linked to a library card" in response.content.decode()


def test_the_login_page_offers_the_methods_in_the_librarys_order(client, settings):
    settings.SIGN_IN_METHODS = ["library_card", "saml", "password"]

    page = client.get(reverse("accounts:login")).content.decode()

    headings = [page.index(f'id="sign-in-{method}"') for method in settings.SIGN_IN_METHODS]
    assert headings == sorted(headings)


def test_staff_log_in_folded_away_when_patrons_have_no_portal_password(client, settings):
    settings.SIGN_IN_METHODS = ["saml"]

    page = client.get(reverse("accounts:login")).content.decode()

    assert '<details class="card narrow">' in page
    assert 'id="sign-in-password"' not in page
