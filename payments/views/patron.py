"""The patron's pages: the account, paying, orders, an order, its receipt."""

from contextlib import suppress

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Patron
from payments import selectors, services
from payments.forms import FeeSelectionForm
from payments.models import PAID_STATUSES, PaymentOrder
from payments.providers.base import ProviderError
from payments.services import live_fees

# A payment refused because the library system could not check the fees, or changed them.
REFUSAL_STATUS = {
    "library_system_unreachable": 503,
    "fees_changed": 409,
    "provider_not_offered": 400,
}


def _patron(request) -> Patron:
    # Loaded with the user by the authentication backend: no query of its own.
    try:
        return request.user.patron
    except Patron.DoesNotExist as error:
        raise Http404("Not a patron.") from error


def _own_order(request, reference) -> PaymentOrder:
    return get_object_or_404(
        PaymentOrder.objects.select_related("payment_entry", "owner"),
        reference=reference,
        patron=_patron(request),
    )


def _account_page(request, patron, *, selected=(), error=None, status=200, read=None, provider=""):
    if read is None:
        read = live_fees.fees_read(
            patron=patron, max_age_seconds=settings.LIBRARY_SYSTEM_FEES_MAX_AGE_SECONDS
        )
    overview = selectors.account_overview(patron=patron, on_date=timezone.localdate())
    context = {
        "patron": patron,
        "account": overview,
        "read": read,
        # Each owner's total is stated by the server too: there without JavaScript.
        "selected": overview.select(selected),
        "chosen_provider": provider,
        "error": error,
    }
    return render(request, "payments/account.html", context, status=status)


@login_required
def account(request):
    # `?fee=1&fee=2` (the order page's "Pay the rest") arrives with those fees ticked.
    form = FeeSelectionForm(request.GET)
    selected = form.cleaned_data["fee"] if "fee" in request.GET and form.is_valid() else ()
    return _account_page(request, _patron(request), selected=selected)


@login_required
@require_POST
def pay(request):
    patron = _patron(request)
    form = FeeSelectionForm(request.POST)
    if not form.is_valid():
        return _account_page(request, patron, error=form.errors["fee"][0], status=400)
    fee_ids = form.cleaned_data["fee"]
    try:
        order = live_fees.order_create_checked(
            patron=patron, fee_ids=fee_ids, provider_name=form.cleaned_data["provider"]
        )
    except services.UnknownFee as error:
        raise Http404 from error
    except ValidationError as error:
        return _account_page(
            request, patron, selected=fee_ids, error=error.messages[0],
            status=REFUSAL_STATUS.get(error.code, 200), read=live_fees.read_state(patron=patron),
            provider=form.cleaned_data["provider"],
        )  # fmt: skip
    order_url = request.build_absolute_uri(reverse("payments:order", args=[order.reference]))
    cancel_url = request.build_absolute_uri(reverse("payments:cancelled", args=[order.reference]))
    try:
        redirect_url = services.order_start(
            order=order, return_url=order_url, cancel_url=cancel_url
        )
    except ProviderError:
        return _account_page(
            request,
            patron,
            read=live_fees.read_state(patron=patron),
            selected=fee_ids,
            provider=order.provider,
            error=_(
                "The payment service cannot be reached right now. Nothing has been charged; "
                "please try again in a few minutes."
            ),
            status=503,
        )
    return redirect(redirect_url)


@login_required
def orders(request):
    patron = _patron(request)
    page = Paginator(selectors.patron_orders(patron=patron), 20).get_page(request.GET.get("page"))
    return render(request, "payments/orders.html", {"patron": patron, "page": page})


@login_required
def order(request, reference):
    order = _own_order(request, reference)
    if order.is_open:
        # Unreachable provider: the page says "still processing" and looks again shortly.
        with suppress(ProviderError):
            order = services.order_refresh(order=order)
    context = {"order": order, **selectors.order_page(order=order)}
    return render(request, "payments/order.html", context)


@login_required
def cancelled(request, reference):
    """Where the provider sends the patron who cancelled on its page. A GET that may give
    the order up: only the patron's own, only while the provider has not been paid."""
    order = _own_order(request, reference)
    if not services.order_come_back_cancelled(order=order):
        # The provider keeps the checkout open (or it was paid): the order page tells which.
        return redirect("payments:order", order.reference)
    messages.success(
        request,
        _(
            "You cancelled payment %(reference)s. Nothing has been charged; its fees can "
            "be paid again now."
        )
        % {"reference": order.reference},
    )
    return redirect("payments:account")


@login_required
@require_POST
def abandon(request, reference):
    """The patron gives up an open payment (left the provider's page, say) to pay again."""
    order = _own_order(request, reference)
    try:
        services.order_abandon(order=order, patron=order.patron)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("payments:order", order.reference)
    messages.success(
        request,
        _("You gave up payment %(reference)s. Its fees can be paid again now.")
        % {"reference": order.reference},
    )
    return redirect("payments:account")


@login_required
def receipt(request, reference):
    order = _own_order(request, reference)
    if order.payment_entry is None or order.status not in PAID_STATUSES:
        raise Http404
    context = {
        "order": order,
        "fees": order.order_fees.select_related("fee"),
        "owner": order.payee,
        "refunds": selectors.refunds_to_card(order=order),
    }
    return render(request, "payments/receipt.html", context)
