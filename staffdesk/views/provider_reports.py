"""Provider news about money that matches no order: kept here until staff resolve it."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from payments import services as payment_services
from staffdesk import scope, selectors
from staffdesk.forms import ResolveProviderReportForm
from staffdesk.views.common import desk_view


@desk_view
@require_http_methods(["GET", "POST"])
def provider_reports(request):
    # Money that matches no order is no owner's yet: for staff of all owners.
    scope.everything_or_404(request.user)
    form = ResolveProviderReportForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("accounts.book_late_payment"):
            raise PermissionDenied
        if form.is_valid():
            try:
                payment_services.unmatched_report_resolve(
                    report_id=form.cleaned_data["report"],
                    staff_user=request.user,
                    resolution=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                messages.error(request, error.messages[0])
            else:
                messages.success(request, _("Resolved."))
            return redirect("staffdesk:provider_reports")
    reports = selectors.unmatched_provider_reports()[:200]
    return render(
        request,
        "staffdesk/provider_reports.html",
        {"reports": reports, "form": form},
        status=400 if form.errors else 200,
    )
