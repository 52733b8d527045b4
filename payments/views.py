from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.models import Patron
from fees import selectors


@login_required
def account(request):
    patron = get_object_or_404(Patron, user=request.user)
    today = timezone.localdate()
    fines = selectors.accruing_fines(patron=patron, on_date=today)
    return render(
        request,
        "payments/account.html",
        {
            "patron": patron,
            "balance_cents": selectors.balance_cents(patron=patron),
            "credit_cents": selectors.patron_credit_cents(patron=patron),
            "open_fees": selectors.open_fees(patron=patron),
            "accruing_fines": fines,
            "accruing_total_cents": sum(fine.fine_cents for fine in fines),
            "recent_entries": selectors.recent_entries(patron=patron),
            "currency": settings.LIBRARY_CURRENCY,
        },
    )
