"""The portal's own error view."""

from django.conf import settings
from django.http import HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """Django's server_error with the library's name and logo in the page's header.

    Like Django's, it renders without the request's context: the context processors (the
    user, the session, messages) may be what failed. Only settings are passed in.
    """
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
