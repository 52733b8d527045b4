from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from accounts.cards import normalize_card_number
from accounts.models import Patron


class CardNumberBackend(ModelBackend):
    """Patrons log in with their library card number and password.

    Staff keep logging in with their user name through ModelBackend.
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
