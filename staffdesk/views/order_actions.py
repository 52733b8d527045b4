"""An order page's actions: the confirmation page that asks for the action's input (GET),
then the action itself (POST)."""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from payments.models import PaymentOrder
from staffdesk import scope
from staffdesk.actions import ORDER_ACTIONS
from staffdesk.views.common import desk_view, require_permission, run_action


@desk_view
@require_http_methods(["GET", "POST"])
def order_action(request, reference, action):
    action = ORDER_ACTIONS.get(action)
    if action is None:
        raise Http404
    require_permission(request.user, action)
    order = get_object_or_404(
        scope.in_scope(request.user, PaymentOrder.objects.select_related("patron")),
        reference=reference,
    )
    arguments = action.form_arguments(order) if action.form_arguments else {}
    form = action.form(request.POST or None, **arguments)
    if request.method == "POST" and form.is_valid():
        run_action(request, action, order, form)
        return redirect("staffdesk:order", reference=order.reference)
    return render(
        request,
        "staffdesk/confirm.html",
        {
            "order": order,
            "action": action,
            "availability": action.availability(order),
            "form": form,
        },
        status=400 if form.is_bound else 200,
    )
