from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from accounts.cards import normalize_card_number
from accounts.models import Patron


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
            granted = (
                Permission.objects.all()
                if user_obj.is_superuser
                else Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
            )
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in granted.order_by()
                .values_list("content_type__app_label", "codename")
                .distinct()
            }
        return user_obj._perm_cache


class CardNumberBackend(UsernameBackend):
    """Patrons log in with their library card number and password.

    Staff keep logging in with their user name (UsernameBackend).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
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
