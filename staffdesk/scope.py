"""Which owners' orders, fees and money a desk user sees and acts on (DeskScope). A user
given some owners finds everything else not there: a 404, as for a patron who asks for
another patron's order."""

from django.db.models import Q, QuerySet
from django.http import Http404

from fees.models import Owner
from fees.models import owned_by as owners_rows
from staffdesk.models import DeskScope


def owner_ids(user) -> frozenset[int] | None:
    """The owners the user works for; None: all of them."""
    if not hasattr(user, "_desk_owner_ids"):
        scope = DeskScope.objects.filter(user=user).first()
        user._desk_owner_ids = (
            None if scope is None else frozenset(scope.owners.values_list("pk", flat=True))
        )
    return user._desk_owner_ids


def sees_everything(user) -> bool:
    return owner_ids(user) is None


def owned_by(user, path: str = "owner") -> Q:
    """Rows (orders, journal entries) whose owner at `path` is one the user works for."""
    ids = owner_ids(user)
    return Q() if ids is None else owners_rows(ids, path)


def in_scope(user, queryset: QuerySet, path: str = "owner") -> QuerySet:
    return queryset.filter(owned_by(user, path))


def works_for(user, owner: Owner) -> bool:
    ids = owner_ids(user)
    return ids is None or owner.pk in ids


def owners_of(user):
    """The owners the user works for, as a queryset."""
    ids = owner_ids(user)
    Owner.objects.default()  # there is always one
    return Owner.objects.all() if ids is None else Owner.objects.filter(pk__in=ids)


def counter_owner(user) -> Owner | None:
    """Whose money a counter booking of this user is: the one owner the user works for;
    the default owner's (None) for a user of all or of several."""
    ids = owner_ids(user)
    if ids is None or len(ids) != 1:
        return None
    return Owner.objects.get(pk=next(iter(ids)))


def everything_or_404(user) -> None:
    """Pages about all owners' money together (provider reports, the settlement)."""
    if not sees_everything(user):
        raise Http404
