from functools import partial

from django.conf import settings
from django.urls import reverse

from accounts.handoff import CATALOGUE_RETURN


def library(request):
    return {
        "LIBRARY_NAME": settings.LIBRARY_NAME,
        "LIBRARY_LOGO_URL": settings.LIBRARY_LOGO_URL,
        "CURRENCY": settings.LIBRARY_CURRENCY,
        # Called only by a template that asks (the error pages).
        "desk_visitor": partial(is_desk_visitor, request),
        # The catalogue the patron came from by its "Pay fees" link (accounts.handoff).
        "catalogue_return": partial(catalogue_return, request),
    }


def catalogue_return(request) -> str:
    session = getattr(request, "session", None)
    return session.get(CATALOGUE_RETURN, "") if session is not None else ""


def is_desk_visitor(request) -> bool:
    """Whether a page (an error page) should speak to library staff: a user with the desk
    permission, or anyone but a patron under the desk's addresses."""
    user = getattr(request, "user", None)
    if user is not None and user.has_perm("accounts.use_desk"):
        return True
    return request.path.startswith(reverse("staffdesk:home")) and not hasattr(user, "patron")
