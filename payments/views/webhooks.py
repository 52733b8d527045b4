"""Providers' webhooks: the one way a provider's news comes in (the simulated provider's
callbacks take it too)."""

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import services
from payments.providers.base import InvalidSignature, ProviderError


@csrf_exempt  # signed by the provider instead; the only view without CSRF
@require_POST
def webhook(request, provider_name):
    try:
        services.webhook_receive(
            provider_name=provider_name, body=request.body, headers=request.headers
        )
    except services.UnknownProvider:
        raise Http404 from None
    except InvalidSignature:
        return HttpResponseBadRequest("invalid signature")
    except ProviderError:  # the provider delivers it again later
        return HttpResponse("try again later", status=503)
    return HttpResponse("ok")
