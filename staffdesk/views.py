import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Patron
from fees.models import Delivery, Settlement
from payments import services as order_services
from payments.models import PaymentOrder
from payments.providers.base import ProviderError
from payments.services import refunds
from payments.services import staff as staff_services
from staffdesk import exports, selectors, services
from staffdesk.forms import (
    CounterBookingForm,
    DeliveryActionForm,
    DeliveryFilterForm,
    MoneyActionForm,
    OrderActionForm,
    OrderFilterForm,
    PatronLookupForm,
    RequeryForm,
    ResolveFlagForm,
    ResolveProviderReportForm,
)
from staffdesk.models import StaffAction
from staffdesk.pagination import LookaheadPaginator


def desk_view(view):
    """Desk pages: logged in, with the desk permission (a patron gets 403)."""
    return login_required(permission_required("accounts.use_desk", raise_exception=True)(view))


@desk_view
@require_GET
def home(request):
    figures = selectors.desk_figures()
    return render(request, "staffdesk/home.html", {"figures": figures})


@desk_view
@require_GET
def orders(request):
    form = OrderFilterForm(request.GET)
    valid = form.is_valid()
    found = (
        selectors.order_search(**form.search_arguments()) if valid else PaymentOrder.objects.none()
    )
    # Deep pages skip thousands of rows: join their patrons after the OFFSET, not before.
    found = found.select_related(None).prefetch_related("patron")
    page = LookaheadPaginator(found, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staffdesk/orders.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@desk_view
@require_GET
def orders_export(request):
    form = OrderFilterForm(request.GET)
    if not form.is_valid():
        raise Http404
    rows = exports.order_rows(selectors.order_search(**form.search_arguments()))
    return _csv_response(rows, f"orders-{timezone.localdate()}.csv")


@desk_view
@require_GET
def settlement_export(request, business_date):
    settlement = get_object_or_404(
        Settlement, business_date=business_date, finished_at__isnull=False
    )
    return _csv_response(exports.settlement_rows(settlement), f"settlement-{business_date}.csv")


def say_done(request, action: StaffAction, text: str) -> None:
    """What the page says after a desk action; a form sent again did nothing more."""
    if action.is_repeat:
        say_repeat(request)
    else:
        messages.success(request, text)


def say_repeat(request) -> None:
    messages.warning(
        request,
        _(
            "This form was sent before, so nothing more was done. Open the page again "
            "to do something new."
        ),
    )


class _Echo:
    def write(self, value):
        return value


def _csv_response(rows, filename):
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(exports.spreadsheet_safe(row)) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@desk_view
@require_GET
def order_detail(request, reference):
    order = get_object_or_404(
        PaymentOrder.objects.select_related("patron", "payment_entry"), reference=reference
    )
    actions = list(order.staff_actions.select_related("staff_user"))
    resolution = None
    if order.flag_resolved_at:
        resolution = next((a for a in actions if a.kind == StaffAction.Kind.RESOLVE_FLAG), None)
    return render(
        request,
        "staffdesk/order.html",
        {
            "order": order,
            "events": order.events.select_related("staff_user"),
            "money": order.money_reports.select_related(
                "entry__delivery", "closed_by", "api_client"
            ),
            "fees": order.order_fees.select_related("fee__target").order_by("pk"),
            "staff_actions": actions,
            "last_manual": actions[0] if actions else None,
            "resolution": resolution,
            "buttons": [(action, action.availability(order)) for action in ORDER_ACTIONS.values()],
            "refunds": order.refunds.select_related("requested_by", "entry__delivery")
            .prefetch_related("events")
            .order_by("created_at"),
            "refund_availability": refunds.refund_availability(order),
        },
    )


@dataclass(frozen=True)
class OrderAction:
    slug: str
    kind: str
    label: str
    permission: str
    availability: Callable
    form: type
    # What the form offers for this order (money records to choose from, resolutions).
    form_arguments: Callable[[PaymentOrder], dict] | None = None


ORDER_ACTIONS = {
    action.slug: action
    for action in [
        OrderAction(
            "cancel", StaffAction.Kind.CANCEL_ORDER, gettext_lazy("Cancel order"),
            "accounts.cancel_order", order_services.cancel_availability, OrderActionForm,
        ),
        OrderAction(
            "complete", StaffAction.Kind.COMPLETE_ORDER, gettext_lazy("Complete and book"),
            "accounts.complete_order", order_services.complete_availability, OrderActionForm,
        ),
        OrderAction(
            "book-late", StaffAction.Kind.BOOK_LATE_PAYMENT, gettext_lazy("Book late payment"),
            "accounts.book_late_payment", order_services.book_late_availability, MoneyActionForm,
            lambda order: {"held": order_services.held_money(order, bookable=True)},
        ),
        OrderAction(
            "close-money", StaffAction.Kind.CLOSE_MONEY, gettext_lazy("Close without booking"),
            "accounts.book_late_payment", order_services.close_money_availability,
            MoneyActionForm, lambda order: {"held": order_services.held_money(order)},
        ),
        OrderAction(
            "requery", StaffAction.Kind.REQUERY, gettext_lazy("Ask the provider again"),
            "accounts.use_desk", order_services.requery_availability, RequeryForm,
        ),
        OrderAction(
            "resolve", StaffAction.Kind.RESOLVE_FLAG, gettext_lazy("Mark as resolved"),
            "accounts.resolve_flag", staff_services.resolve_flag_availability, ResolveFlagForm,
            lambda order: {"resolutions": staff_services.flag_resolutions(order)},
        ),
    ]
}  # fmt: skip


@desk_view
@require_http_methods(["GET", "POST"])
def order_action(request, reference, action):
    spec = ORDER_ACTIONS.get(action)
    if spec is None:
        raise Http404
    if not request.user.has_perm(spec.permission):
        raise PermissionDenied
    order = get_object_or_404(PaymentOrder.objects.select_related("patron"), reference=reference)
    arguments = spec.form_arguments(order) if spec.form_arguments else {}
    form = spec.form(request.POST or None, **arguments)
    if request.method == "POST" and form.is_valid():
        try:
            action = _perform(spec, order, request.user, form.cleaned_data)
        except ValidationError as error:
            messages.error(request, error.messages[0])
        except ProviderError as error:
            messages.error(
                request, _("The provider could not be reached: %(error)s") % {"error": error}
            )
        else:
            say_done(request, action, _("Done: %(action)s.") % {"action": spec.label})
        return redirect("staffdesk:order", reference=order.reference)
    return render(
        request,
        "staffdesk/confirm.html",
        {"order": order, "action": spec, "availability": spec.availability(order), "form": form},
        status=400 if form.is_bound else 200,
    )


def _perform(spec, order, staff_user, data):
    if spec.kind == StaffAction.Kind.REQUERY:
        return services.desk_order_requery(
            order=order, staff_user=staff_user, submission=data["submission"]
        )
    return services.desk_order_action(
        kind=spec.kind,
        order=order,
        staff_user=staff_user,
        reason=data["reason"],
        submission=data["submission"],
        money=data.get("money"),
        resolution=data.get("resolution", ""),
    )


@desk_view
@require_http_methods(["GET", "POST"])
def deliveries(request):
    """Deliveries to the library system: what waits, retries or was refused, and why."""
    if request.method == "POST":
        if not request.user.has_perm("accounts.manage_deliveries"):
            raise PermissionDenied
        form = DeliveryActionForm(request.POST)
        if form.is_valid():
            delivery = get_object_or_404(Delivery, pk=form.cleaned_data["delivery"])
            try:
                action = services.desk_delivery_action(
                    kind=form.cleaned_data["action"],
                    delivery=delivery,
                    staff_user=request.user,
                    reason=form.cleaned_data["reason"],
                    submission=form.cleaned_data["submission"],
                )
            except ValidationError as error:
                messages.error(request, error.messages[0])
            else:
                say_done(request, action, _("Done."))
        else:
            messages.error(request, _("The form was not complete; nothing was done."))
        return redirect(request.get_full_path())
    filters = DeliveryFilterForm(request.GET)
    status = filters.cleaned_data["status"] if filters.is_valid() else ""
    page = LookaheadPaginator(selectors.deliveries(status=status), 50).get_page(
        request.GET.get("page")
    )
    for delivery in page:  # each row's form its own one-time token
        delivery.submission = uuid.uuid4()
    return render(request, "staffdesk/deliveries.html", {"page": page, "filters": filters})


@desk_view
@require_http_methods(["GET", "POST"])
def provider_reports(request):
    """Provider news about money that matches no order: kept here until staff resolve it."""
    form = ResolveProviderReportForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("accounts.book_late_payment"):
            raise PermissionDenied
        if form.is_valid():
            try:
                order_services.unmatched_report_resolve(
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
    ledger = selectors.patron_ledger(patron=patron, on_date=timezone.localdate())
    form = CounterBookingForm(request.POST or None, open_fees=ledger.open_fees)
    if request.method == "POST":
        if not request.user.has_perm("accounts.book_counter_entry"):
            raise PermissionDenied
        if form.is_valid():
            try:
                action = services.desk_counter_booking(
                    patron=patron,
                    kind=form.cleaned_data["kind"],
                    amount_cents=form.amount_cents,
                    staff_user=request.user,
                    note=form.cleaned_data["note"],
                    method=form.cleaned_data["method"],
                    fee=form.cleaned_data["fee"],
                    for_fees=form.cleaned_data["for_fees"],
                    submission=form.cleaned_data["submission"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                say_done(request, action, _("Booked."))
                return redirect("staffdesk:patron", user_number=patron.user_number)
    return render(
        request,
        "staffdesk/patron.html",
        {"ledger": ledger, "patron": patron, "form": form},
        status=400 if form.errors else 200,
    )
