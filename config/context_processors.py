from functools import partial

from django.conf import settings
from django.urls import reverse


def library(request):
    return {
        "LIBRARY_NAME": settings.LIBRARY_NAME,
        "LIBRARY_LOGO_URL": settings.LIBRARY_LOGO_URL,
        "CURRENCY": settings.LIBRARY_CURRENCY,
        # Called only by a template that asks (the error pages).
        "desk_visitor": partial(is_desk_visitor, request),
    }


def is_desk_visitor(request) -> bool:
    """Whether a page (an error page) should speak to library staff: a user with the desk
    permission, or anyone but a patron under the desk's addresses."""
    user = getattr(request, "user", None)
    if user is not None and user.has_perm("accounts.use_desk"):
        return True
    return request.path.startswith(reverse("staffdesk:home")) and not hasattr(user, "patron")
