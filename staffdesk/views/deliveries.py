"""Deliveries to the library system: what waits, retries or was refused, and why."""

import uuid

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from fees.models import Delivery
from payments import library_systems
from staffdesk import scope, selectors
from staffdesk.actions import DELIVERY_PAGE_ACTIONS
from staffdesk.forms import DeliveryActionForm, DeliveryFilterForm
from staffdesk.pagination import LookaheadPaginator
from staffdesk.views.common import chosen_action, desk_view, run_action


@desk_view
@require_http_methods(["GET", "POST"])
def deliveries(request):
    if request.method == "POST":
        action = chosen_action(request.user, DELIVERY_PAGE_ACTIONS, request.POST.get("action"))
        form = DeliveryActionForm(request.POST)
        if form.is_valid():
            shown = Delivery.objects.filter(scope.owned_by(request.user, "entry__owner"))
            delivery = get_object_or_404(shown, pk=form.cleaned_data["delivery"])
            run_action(request, action, delivery, form)
        else:
            messages.error(request, _("The form was not complete; nothing was done."))
        return redirect(request.get_full_path())
    filters = DeliveryFilterForm(request.GET)
    status = filters.cleaned_data["status"] if filters.is_valid() else ""
    shown = selectors.deliveries(status=status).filter(scope.owned_by(request.user, "entry__owner"))
    page = LookaheadPaginator(shown, 50).get_page(request.GET.get("page"))
    for delivery in page:  # each row's form its own one-time token
        delivery.submission = uuid.uuid4()
    return render(
        request,
        "staffdesk/deliveries.html",
        {
            "page": page,
            "filters": filters,
            "library_system_configured": library_systems.is_configured(),
        },
    )
