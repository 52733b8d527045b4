"""Card numbers in the one form they are stored, looked up and throttled by."""


def normalize_card_number(value: str) -> str:
    """'  ab12 3456 ' -> 'AB123456': spacing and case are not part of a card number."""
    return "".join(value.split()).upper()


def axes_username(request, credentials: dict | None) -> str | None:
    """The name django-axes counts failed logins by (AXES_USERNAME_CALLABLE).

    The same normalisation as the login lookup, so that typing the card number with
    other spacing or case does not give a fresh set of guesses.
    """
    if credentials:
        username = credentials.get("username") or credentials.get("card_number")
    elif request is not None:
        username = getattr(request, "data", request.POST).get("username")
    else:
        username = None
    return normalize_card_number(username) if isinstance(username, str) else username
