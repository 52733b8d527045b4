from django.shortcuts import get_object_or_404, render
from django.urls import path

from bare.models import Entry, Patron


def one_row(request, user_number):
    """One row by an indexed column."""
    patron = get_object_or_404(Patron, user_number=user_number)
    return render(request, "row.html", {"patron": patron})


def fifty_rows(request, patron_id):
    """A 50-row list by an index (patron, booked_at)."""
    entries = Entry.objects.filter(patron_id=patron_id).order_by("-booked_at")[:50]
    return render(request, "list.html", {"entries": entries})


urlpatterns = [
    path("row/<str:user_number>/", one_row),
    path("list/<int:patron_id>/", fifty_rows),
]
