"""Payment orders at the desk: the list, its export and an order's page."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from payments import services as payment_services
from payments.models import PaymentOrder
from staffdesk import exports, scope, selectors
from staffdesk.actions import ORDER_ACTIONS
from staffdesk.forms import OrderFilterForm
from staffdesk.models import StaffAction
from staffdesk.pagination import LookaheadPaginator
from staffdesk.views.common import desk_view


@desk_view
@require_GET
def orders(request):
    form = OrderFilterForm(request.GET)
    valid = form.is_valid()
    found = (
        scope.in_scope(request.user, selectors.order_search(**form.search_arguments()))
        if valid
        else PaymentOrder.objects.none()
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
    found = scope.in_scope(request.user, selectors.order_search(**form.search_arguments()))
    rows = exports.order_rows(found)
    return exports.csv_response(rows, f"orders-{timezone.localdate()}.csv")


@desk_view
@require_GET
def order_detail(request, reference):
    order = get_object_or_404(
        scope.in_scope(
            request.user, PaymentOrder.objects.select_related("patron", "payment_entry")
        ),
        reference=reference,
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
            "later_orders": selectors.later_orders_for_fees(order),
            "buttons": [(action, action.availability(order)) for action in ORDER_ACTIONS.values()],
            "refunds": order.refunds.select_related("requested_by", "entry__delivery")
            .prefetch_related("events")
            .order_by("created_at"),
            "refund_availability": payment_services.refund_availability(order),
        },
    )
