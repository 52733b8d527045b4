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
    source_system: str = "",
    external_id: str = "",
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
        source_system=source_system,
        external_id=external_id,
    )
    patron.full_clean(exclude=["user"])
    user.full_clean()
    user.save()
    patron.user = user
    patron.save()
    return patron


@transaction.atomic
def patron_update(
    *,
    patron: Patron,
    card_number: str,
    last_name: str,
    first_name: str = "",
    email: str = "",
    external_id: str | None = None,
) -> list[str]:
    """Take the library system's current data for a patron; the fields that changed.

    A replaced card: the new number logs in from now on, the old one no longer does.
    """
    patron = Patron.objects.select_for_update().get(pk=patron.pk)
    wanted = {
        "card_number": normalize_card_number(card_number),
        "last_name": last_name,
        "first_name": first_name,
        "email": email,
    }
    if external_id is not None:
        wanted["external_id"] = external_id
    changed = [name for name, value in wanted.items() if getattr(patron, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(patron, name, wanted[name])
    patron.full_clean(exclude=["user"])
    patron.save(update_fields=changed)
    if "email" in changed:
        patron.user.email = email
        patron.user.save(update_fields=["email"])
    return changed
