"""What every desk page shares: who may see it, and how a desk action is run and told."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from payments.providers.base import ProviderError
from staffdesk.actions import DeskAction, perform
from staffdesk.models import StaffAction


def desk_view(view):
    """Desk pages: logged in, with the desk permission (a patron gets 403)."""
    return login_required(permission_required("accounts.use_desk", raise_exception=True)(view))


def require_permission(user, action: DeskAction) -> None:
    if not user.has_perm(action.permission):
        raise PermissionDenied


def chosen_action(user, actions: dict[str, DeskAction], chosen: str | None) -> DeskAction | None:
    """The action a page's form chose among `actions`, if the user may do it.

    A choice that names none of them is refused unless the user may do them all: the form
    then says what is wrong, as it would for any other field.
    """
    action = actions.get(chosen)
    for needed in [action] if action else actions.values():
        require_permission(user, needed)
    return action


def run_action(request, action: DeskAction, target, form, *, refusal_on_form=False):
    """Do the action with the (valid) form's input and say on the next page how it went.

    A refusal is said in a message, or on the form when the page shows it again
    (`refusal_on_form`). Returns the audit row, or None when refused.
    """
    try:
        row = perform(action, target, staff_user=request.user, **form.action_input())
    except ValidationError as error:
        if refusal_on_form:
            form.add_error(None, error)
        else:
            messages.error(request, error.messages[0])
        return None
    except ProviderError as error:
        messages.error(
            request, _("The provider could not be reached: %(error)s") % {"error": error}
        )
        return None
    say_done(request, action, row)
    return row


def say_done(request, action: DeskAction, row: StaffAction) -> None:
    """What the page says after a desk action; a form sent again did nothing more."""
    if row.is_repeat:
        say_repeat(request)
    else:
        level, text = action.confirmation(action, row)
        messages.add_message(request, level, text)


def say_repeat(request) -> None:
    messages.warning(
        request,
        _(
            "This form was sent before, so nothing more was done. Open the page again "
            "to do something new."
        ),
    )
