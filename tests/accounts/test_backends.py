"""The authentication backends: the user comes with its patron, and permissions are
exactly Django's."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

from accounts.backends import UsernameBackend
from tests.factories import DeskStaffFactory, PatronFactory, UserFactory

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize("kind", ["patron", "desk staff", "own and group", "superuser"])
def test_permissions_are_those_django_grants(kind):
    if kind == "patron":
        user = PatronFactory().user
    elif kind == "desk staff":
        user = DeskStaffFactory()
    elif kind == "own and group":
        user = UserFactory()
        user.user_permissions.add(Permission.objects.get(codename="view_patron"))
        group = Group.objects.create(name="Auditors")
        group.permissions.add(Permission.objects.get(codename="view_journalentry"))
        user.groups.add(group)
    else:
        user = UserFactory(is_superuser=True)

    ours = UsernameBackend().get_all_permissions(_fresh(user))

    assert ours == ModelBackend().get_all_permissions(_fresh(user))
    assert ours or kind == "patron"


def test_an_inactive_user_has_no_permissions():
    user = DeskStaffFactory(is_active=False)

    assert UsernameBackend().get_all_permissions(_fresh(user)) == set()


def test_the_patron_comes_with_the_user(django_assert_num_queries):
    patron = PatronFactory()

    with django_assert_num_queries(1):
        user = UsernameBackend().get_user(patron.user.pk)
        assert user.patron.card_number == patron.card_number


def test_staff_without_patron_is_known_as_such_without_another_query(django_assert_num_queries):
    staff = DeskStaffFactory()

    with django_assert_num_queries(1):
        user = UsernameBackend().get_user(staff.pk)
        assert not hasattr(user, "patron")
