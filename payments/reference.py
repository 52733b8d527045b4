import secrets

# Crockford-style: no 0/O, 1/I/L or U, so a reference can be read out on the phone.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(prefix: str = "EP") -> str:
    """'EP-7K3M-9XQ2': random, so the next reference can't be guessed from this one.
    Refunds are 'RF-…'."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


def normalize_reference(text: str) -> str:
    """What a caller typed or said ('ep 7k3m 9xq2') in the stored form."""
    compact = "".join(ch for ch in text.upper() if ch.isalnum())
    compact = compact.removeprefix("EP")
    return f"EP-{compact[:4]}-{compact[4:]}" if len(compact) == 8 else text.strip().upper()
