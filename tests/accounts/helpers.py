"""What the sign-in tests share: the patron Koha knows (the `koha_patron` fixture) and who
a test client is signed in as."""

from accounts.models import Patron

# Koha's patron 42, as the koha_patron fixture puts them there.
CARD, PIN = "1000000042", "4711"


def signed_in_patron(client) -> Patron | None:
    user_id = client.session.get("_auth_user_id")
    return Patron.objects.filter(user_id=user_id).first() if user_id else None
