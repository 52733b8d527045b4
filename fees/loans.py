"""The library system's overdue loans of a patron: replaced as a whole set."""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Patron
from fees.amounts import is_whole_cents
from fees.models import Loan
from fees.services import currency_check, patron_lock


@transaction.atomic
def loans_replace(*, patron: Patron | int, loans: Iterable[dict]) -> list[Loan]:
    """Replace the patron's overdue loans (the library system sends the whole set)."""
    patron = patron_lock(patron)
    new = []
    for loan in loans:
        currency_check(loan.get("currency"))
        for field in ("daily_fine_cents", "fine_cap_cents"):
            if not is_whole_cents(loan[field]) or loan[field] < 0:
                raise ValidationError(
                    _("%(field)s must be a whole number of cents, zero or more.")
                    % {"field": field},
                    code="invalid",
                )
        new.append(Loan(patron=patron, currency=settings.LIBRARY_CURRENCY, **{
            key: value for key, value in loan.items() if key != "currency"
        }))  # fmt: skip
    Loan.objects.filter(patron=patron).delete()
    return Loan.objects.bulk_create(new)
