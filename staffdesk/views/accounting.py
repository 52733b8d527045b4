"""Exports for the accounts department: a business day's accounting export (CSV or .xlsx,
see staffdesk.accounting) and the settlement of a day."""

import io

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from fees.models import Owner, Settlement
from staffdesk import exports, scope
from staffdesk.accounting import (
    accounting_rows,
    accounting_sections,
    export_filename,
    last_settled_date,
    write_xlsx,
)
from staffdesk.forms_accounting import AccountingExportForm
from staffdesk.views.common import desk_view

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@desk_view
@require_GET
def accounting(request):
    form = AccountingExportForm(request.GET or None, owners=scope.owner_ids(request.user))
    if not form.is_bound or not form.is_valid():
        context = {"form": form, "last_settled": last_settled_date()}
        status = 400 if form.is_bound else 200
        return render(request, "staffdesk/accounting.html", context, status=status)
    business_date, owner = form.cleaned_data["date"], form.cleaned_data["owner"]
    filename = export_filename(business_date, form.cleaned_data["format"], owner)
    if form.cleaned_data["format"] == "xlsx":
        return _xlsx_response(business_date, owner, filename)
    return exports.csv_response(accounting_rows(business_date, owner), filename)


def _xlsx_response(business_date, owner, filename):
    # A zip file is written whole before it can be sent; a day's groups are small.
    buffer = io.BytesIO()
    write_xlsx(accounting_sections(business_date, owner), buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@desk_view
@require_GET
def settlement_export(request, business_date):
    """The settlement's file: of the owner `?owner=` names, else of the user's owners."""
    owner_ids, suffix = scope.owner_ids(request.user), ""
    if code := request.GET.get("owner", ""):
        owner = Owner.objects.filter(code=code).first()
        if owner is None or not scope.works_for(request.user, owner):
            raise Http404
        owner_ids, suffix = frozenset({owner.pk}), f"-{owner.code}"
    settlement = get_object_or_404(
        Settlement, business_date=business_date, finished_at__isnull=False
    )
    rows = exports.settlement_rows(settlement, owner_ids)
    return exports.csv_response(rows, f"settlement-{business_date}{suffix}.csv")
