from django import template

from fees.money import format_money

register = template.Library()


@register.filter
def money(amount_cents, currency):
    """{{ entry.amount_cents|money:entry.currency }}"""
    if amount_cents in (None, ""):
        return ""
    return format_money(int(amount_cents), currency)
