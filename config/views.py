"""The portal's own error views; under the API's prefix, its JSON errors instead."""

from django.conf import settings
from django.http import HttpResponseServerError
from django.template import loader
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from payments.api import errors as api_errors


@requires_csrf_token
def page_not_found(request, exception):
    if api_errors.is_api_request(request):
        return api_errors.not_found(request, exception)
    return defaults.page_not_found(request, exception)


@requires_csrf_token
def bad_request(request, exception):
    if api_errors.is_api_request(request):
        return api_errors.bad_request(request, exception)
    return defaults.bad_request(request, exception)


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """Django's server_error with the library's name and logo in the page's header.

    Like Django's, it renders without the request's context: the context processors (the
    user, the session, messages) may be what failed. Only settings are passed in.
    """
    if api_errors.is_api_request(request):
        return api_errors.server_error(request)
    context = {
        "LIBRARY_NAME": settings.LIBRARY_NAME,
        "LIBRARY_LOGO_URL": settings.LIBRARY_LOGO_URL,
    }
    try:
        body = loader.render_to_string(template_name, context)
    except Exception:  # (static files not collected, say) the error page must not fail too
        return HttpResponseServerError(
            "<!doctype html><title>Server Error (500)</title><h1>Server Error (500)</h1>"
        )
    return HttpResponseServerError(body)
