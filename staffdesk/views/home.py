"""The desk's start page: what needs attention."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from staffdesk import scope, selectors
from staffdesk.views.common import desk_view


@desk_view
@require_GET
def home(request):
    figures = selectors.desk_figures(
        shown=lambda path: scope.owned_by(request.user, path),
        everything=scope.sees_everything(request.user),
    )
    return render(request, "staffdesk/home.html", {"figures": figures})
