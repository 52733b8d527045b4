from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounts.cards import normalize_card_number
from accounts.models import Patron
from accounts.signin import PASSWORD, is_enabled


class UsernameBackend(ModelBackend):
    """Staff log in with their user name and password, as with Django's ModelBackend.

    Every page needs the user, whether it is a patron (navigation, the patron's pages) and
    its permissions (the desk link): they come in two queries instead of four.
    """

    def get_user(self, user_id):
        try:
            user = get_user_model()._default_manager.select_related("patron").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = _permissions_of(user_obj)
        return user_obj._perm_cache


def _permissions_of(user) -> set[str]:
    """The user's own and its groups' permissions as "app_label.codename", in one query
    written as SQL: the ORM takes longer to build it than the database to answer."""
    tables = {
        "permission": Permission._meta.db_table,
        "content_type": ContentType._meta.db_table,
        "user_permissions": User.user_permissions.through._meta.db_table,
        "user_groups": User.groups.through._meta.db_table,
        "group_permissions": Group.permissions.through._meta.db_table,
    }
    granted = (
        "SELECT own.permission_id FROM {user_permissions} own WHERE own.user_id = %s"
        " UNION SELECT grp.permission_id FROM {group_permissions} grp"
        " JOIN {user_groups} member ON member.group_id = grp.group_id WHERE member.user_id = %s"
    )
    sql = (
        "SELECT ct.app_label, perm.codename FROM {permission} perm"
        " JOIN {content_type} ct ON ct.id = perm.content_type_id"
    )
    params = []
    if not user.is_superuser:
        sql += f" WHERE perm.id IN ({granted})"
        params = [user.pk, user.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**tables), params)
        return {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}


class CardNumberBackend(UsernameBackend):
    """Patrons log in with their library card number and a password kept by the portal,
    where the library enables it (SIGN_IN_METHODS has "password").

    Staff keep logging in with their user name (UsernameBackend).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None or not is_enabled(PASSWORD):
            return None
        try:
            patron = Patron.objects.select_related("user").get(
                card_number=normalize_card_number(username)
            )
        except Patron.DoesNotExist:
            # Spend the same time as a wrong password so card numbers can't be probed.
            get_user_model()().set_password(password)
            return None
        user = patron.user
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
