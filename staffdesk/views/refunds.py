"""Refunds to the card: staff with their own permission pay money back through the provider."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from payments import services as payment_services
from payments.models import PaymentOrder, Refund
from staffdesk import scope, selectors
from staffdesk.actions import DESK_ACTIONS
from staffdesk.models import StaffAction
from staffdesk.views.common import desk_view, run_action

REFUND_TO_CARD = DESK_ACTIONS[StaffAction.Kind.REFUND_TO_CARD]
ASK_REFUND_AGAIN = DESK_ACTIONS[StaffAction.Kind.ASK_REFUND_AGAIN]


@desk_view
@permission_required(REFUND_TO_CARD.permission, raise_exception=True)
@require_http_methods(["GET", "POST"])
def order_refund(request, reference):
    order = get_object_or_404(
        scope.in_scope(request.user, PaymentOrder.objects.select_related("patron")),
        reference=reference,
    )
    form = REFUND_TO_CARD.form(
        request.POST or None,
        sources=selectors.refund_sources(order),
        preferred=request.GET.get("source"),
    )
    availability = payment_services.refund_availability(order)
    refunded = (
        request.method == "POST"
        and form.is_valid()
        and run_action(request, REFUND_TO_CARD, order, form, refusal_on_form=True)
    )
    if refunded:
        return redirect("staffdesk:order", reference=order.reference)
    return render(
        request,
        "staffdesk/refund.html",
        {
            "order": order,
            "form": form,
            "availability": availability,
            "refundable_cents": payment_services.refundable_cents(order),
            "credit_cents": payment_services.refundable_credit_cents(order.patron),
        },
        status=400 if form.is_bound else 200,
    )


@desk_view
@permission_required(ASK_REFUND_AGAIN.permission, raise_exception=True)
@require_POST
def refund_ask_again(request, reference, refund_reference):
    refund = get_object_or_404(
        scope.in_scope(request.user, Refund.objects.select_related("order"), "order__owner"),
        order__reference=reference,
        reference=refund_reference,
    )
    form = ASK_REFUND_AGAIN.form(request.POST)
    if form.is_valid():
        run_action(request, ASK_REFUND_AGAIN, refund, form)
    return redirect("staffdesk:order", reference=reference)
