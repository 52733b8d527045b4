"""A patron at the desk: found by card or user number, their ledger, counter bookings."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Patron
from staffdesk import scope, selectors
from staffdesk.actions import COUNTER_ACTIONS
from staffdesk.forms import CounterBookingForm, PatronLookupForm
from staffdesk.views.common import chosen_action, desk_view, run_action


@desk_view
@require_GET
def patron_lookup(request):
    form = PatronLookupForm(request.GET)
    if not form.is_valid():
        messages.error(request, _("Enter a card or user number."))
        return redirect("staffdesk:home")
    query = form.cleaned_data["q"]
    patron = selectors.patron_by_number(query)
    if patron is None:
        messages.error(request, _("No patron with card or user number “%(q)s”.") % {"q": query})
        return redirect("staffdesk:home")
    return redirect("staffdesk:patron", user_number=patron.user_number)


@desk_view
@require_http_methods(["GET", "POST"])
def patron_detail(request, user_number):
    patron = get_object_or_404(Patron, user_number=user_number)
    ledger = selectors.patron_ledger(
        patron=patron,
        on_date=timezone.localdate(),
        entries_shown=scope.owned_by(request.user),
        orders_shown=scope.owned_by(request.user),
    )
    form = CounterBookingForm(
        request.POST or None, open_fees=ledger.open_fees, owners=scope.owners_of(request.user)
    )
    if request.method == "POST":
        action = chosen_action(request.user, COUNTER_ACTIONS, request.POST.get("kind"))
        if form.is_valid() and run_action(request, action, patron, form, refusal_on_form=True):
            return redirect("staffdesk:patron", user_number=patron.user_number)
    return render(
        request,
        "staffdesk/patron.html",
        {
            "ledger": ledger,
            "patron": patron,
            "form": form,
            # A desk of some owners sees their part of the patron's account, so says whose.
            "desk_owners": []
            if scope.sees_everything(request.user)
            else [owner.name for owner in scope.owners_of(request.user)],
        },
        status=400 if form.errors else 200,
    )
