"""The simulated provider's hosted payment page (test mode only)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from payments import services
from payments.models import PaymentOrder, SimulatedCheckout
from payments.providers.simulated import ACTIONS, SIGNATURE_HEADER, SimulatedProvider

DELIVERIES = {"now": 1, "twice": 2, "hold": 0}


def _provider(merchant: str = ""):
    try:
        return SimulatedProvider.from_settings(merchant=merchant)
    except ImproperlyConfigured as error:
        raise Http404 from error


def simulated_checkout(request, transaction_id):
    _provider()  # test mode only, before anything is read
    checkout = get_object_or_404(SimulatedCheckout, transaction_id=transaction_id)
    provider = _provider(checkout.merchant)
    if request.method == "POST":
        action = request.POST.get("action", "")
        delivery = request.POST.get("delivery", "now")
        if action == "deliver_held":
            bodies, checkout.held_callbacks = checkout.held_callbacks, []
            checkout.save(update_fields=["held_callbacks"])
            _deliver(provider, [body.encode() for body in bodies], times=1)
            return redirect(request.path)
        if action not in ACTIONS or delivery not in DELIVERIES:
            messages.error(request, "Unknown choice.")
            return redirect(request.path)
        try:
            bodies = provider.act(checkout, action)
        except ValueError as error:
            messages.error(request, str(error))
            return redirect(request.path)
        if delivery == "hold":
            checkout.held_callbacks = checkout.held_callbacks + [b.decode() for b in bodies]
            checkout.save(update_fields=["held_callbacks"])
        _deliver(provider, bodies, times=DELIVERIES[delivery])
        if action == "abandon":
            return redirect(checkout.cancel_url)
        if action == "chargeback":
            return redirect(request.path)
        return redirect(checkout.return_url)
    order = PaymentOrder.objects.filter(reference=checkout.order_reference).first()
    return render(
        request,
        "payments/simulated_checkout.html",
        {
            "checkout": checkout,
            "order": order,
            "merchant": order.payee.name if order else checkout.merchant,
            "Outcome": SimulatedCheckout.Outcome,
        },
    )


@login_required
def simulated_checkout_of_order(request, reference):
    """The order page's test-mode link: the checkout found through the order, so that the
    portal's own pages never show the provider's id for it."""
    _provider()
    order = get_object_or_404(
        PaymentOrder, reference=reference, patron__user=request.user, provider="simulated"
    )
    if not order.provider_transaction_id:
        raise Http404
    return redirect("payments:simulated_checkout", order.provider_transaction_id)


def _deliver(provider, bodies, *, times):
    """Send callbacks down the same path a real provider's webhooks take."""
    for body in bodies:
        for _ in range(times):
            services.webhook_receive(
                provider_name=provider.name,
                body=body,
                headers={SIGNATURE_HEADER: provider.sign(body)},
            )
