"""The library's rules for paying online, in one place: the account page shows them and
`order_create` enforces them, so crafted input meets the same rules as the page."""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fees.amounts import format_money
from fees.models import EntryKind, FeeKind, JournalEntry, Owner

NOT_PAYABLE_ONLINE = gettext_lazy("Pay this fee at the library desk.")


def fee_kinds(codes: Iterable[str]) -> dict[str, FeeKind]:
    return {kind.code: kind for kind in FeeKind.objects.filter(code__in=set(codes) - {""})}


def payable_online(fee: JournalEntry, kinds: dict[str, FeeKind]) -> bool:
    """Fees of a type staff marked not payable online are paid at the desk. A type the
    table does not know blocks nothing, and a returned payment (chargeback) has no type."""
    if fee.kind != EntryKind.FEE:
        return True
    kind = kinds.get(fee.fee_type)
    return kind is None or kind.payable_online


def below_minimum_text(owner: Owner) -> str:
    return _(
        "Online payments start at %(minimum)s. Your open fees come to less: please pay "
        "them at the library desk."
    ) % {"minimum": format_money(owner.minimum_cents, settings.LIBRARY_CURRENCY)}


def check_fees(fees: Iterable[JournalEntry]) -> None:
    fees = list(fees)
    kinds = fee_kinds(fee.fee_type for fee in fees)
    if not all(payable_online(fee, kinds) for fee in fees):
        raise ValidationError(
            _("A selected fee cannot be paid online. Please pay it at the library desk."),
            code="not_payable_online",
        )


def check_amount(amount_cents: int, owner: Owner) -> None:
    """One online payment stays within its owner's minimum and maximum."""
    currency = settings.LIBRARY_CURRENCY
    minimum, maximum = owner.minimum_cents, owner.maximum_cents
    if minimum and amount_cents < minimum:
        raise ValidationError(
            _(
                "Online payments start at %(minimum)s. Please select more fees or pay at the "
                "library desk."
            )
            % {"minimum": format_money(minimum, currency)},
            code="below_minimum",
            params={"minimum_cents": minimum},
        )
    if maximum and amount_cents > maximum:
        raise ValidationError(
            _(
                "One online payment can be at most %(maximum)s. Please deselect some fees "
                "and pay the rest in a second payment or at the library desk."
            )
            % {"maximum": format_money(maximum, currency)},
            code="above_maximum",
            params={"maximum_cents": maximum},
        )
