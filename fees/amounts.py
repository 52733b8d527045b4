from decimal import Decimal

from django.utils import formats


def is_whole_cents(value) -> bool:
    """An amount in minor units: an int, and not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def format_money(amount_cents: int, currency: str) -> str:
    """'12.50 EUR' in English, '12,50 EUR' in German: the active locale's number format."""
    amount = formats.number_format(Decimal(amount_cents) / 100, decimal_pos=2, use_l10n=True)
    return f"{amount} {currency}"
