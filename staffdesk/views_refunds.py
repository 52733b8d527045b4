"""Refunds to the card: staff with their own permission pay money back through the provider."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fees.amounts import format_money
from payments.models import PaymentOrder, Refund, RefundStatus
from payments.providers.base import ProviderError
from payments.services import refunds
from staffdesk import services
from staffdesk.forms import RefundForm
from staffdesk.views import desk_view, say_repeat

refund_permission = permission_required("accounts.refund_to_card", raise_exception=True)


@desk_view
@refund_permission
@require_http_methods(["GET", "POST"])
def order_refund(request, reference):
    order = get_object_or_404(PaymentOrder.objects.select_related("patron"), reference=reference)
    initial = {"source": request.GET.get("source", Refund.Source.CREDIT)}
    form = RefundForm(request.POST or None, initial=initial)
    availability = refunds.refund_availability(order)
    if request.method == "POST" and form.is_valid():
        try:
            action = services.desk_refund_request(
                order=order,
                amount_cents=form.amount_cents,
                source=form.cleaned_data["source"],
                reason=form.cleaned_data["reason"],
                staff_user=request.user,
                submission=form.cleaned_data["submission"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            action.refund.refresh_from_db()
            if action.is_repeat:
                say_repeat(request)
            else:
                _tell(request, action.refund)
            return redirect("staffdesk:order", reference=order.reference)
    return render(
        request,
        "staffdesk/refund.html",
        {
            "order": order,
            "form": form,
            "availability": availability,
            "refundable_cents": refunds.refundable_cents(order),
            "credit_cents": refunds.refundable_credit_cents(order.patron),
        },
        status=400 if form.is_bound else 200,
    )


@desk_view
@refund_permission
@require_POST
def refund_ask_again(request, reference, refund_reference):
    refund = get_object_or_404(
        Refund.objects.select_related("order"),
        order__reference=reference,
        reference=refund_reference,
    )
    try:
        action = services.desk_refund_ask_again(refund=refund, staff_user=request.user)
    except ProviderError as error:
        messages.error(
            request, _("The provider could not be reached: %(error)s") % {"error": error}
        )
    else:
        _tell(request, action.refund)
    return redirect("staffdesk:order", reference=reference)


def _tell(request, refund: Refund) -> None:
    amount = format_money(refund.amount_cents, refund.currency)
    if refund.status == RefundStatus.SUCCEEDED:
        messages.success(request, _("%(amount)s refunded to the card.") % {"amount": amount})
    elif refund.status == RefundStatus.FAILED:
        messages.error(
            request,
            _("The provider refused the refund of %(amount)s: %(reason)s")
            % {"amount": amount, "reason": refund.failure},
        )
    else:
        messages.warning(
            request,
            _(
                "The provider has not confirmed the refund of %(amount)s yet. It stays "
                "requested and is booked when the provider confirms it."
            )
            % {"amount": amount},
        )
