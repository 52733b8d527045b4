from django import template

from fees.amounts import format_money

register = template.Library()


@register.filter
def money(amount_cents, currency):
    """{{ entry.amount_cents|money:entry.currency }}"""
    if amount_cents in (None, ""):
        return ""
    return format_money(int(amount_cents), currency)


@register.filter
def money_abs(amount_cents, currency):
    """A payment or credit as the amount that moved: {{ payment.amount_cents|money_abs:cur }}"""
    if amount_cents in (None, ""):
        return ""
    return format_money(abs(int(amount_cents)), currency)
