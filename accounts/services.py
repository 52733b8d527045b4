from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.cards import normalize_card_number
from accounts.models import Patron


@transaction.atomic
def patron_create(
    *,
    user_number: str,
    card_number: str,
    last_name: str,
    first_name: str = "",
    email: str = "",
    password: str | None = None,
) -> Patron:
    """Create a patron and the Django user it logs in as.

    Without a password the patron cannot log in until one is set. The card number is
    stored normalised (no spaces, upper case), as the login looks it up.
    """
    user = get_user_model()(username=f"patron-{user_number}", email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    patron = Patron(
        user=user,
        user_number=user_number,
        card_number=normalize_card_number(card_number),
        first_name=first_name,
        last_name=last_name,
        email=email,
    )
    patron.full_clean(exclude=["user"])
    user.full_clean()
    user.save()
    patron.user = user
    patron.save()
    return patron
