from django import forms
from django.utils.translation import gettext_lazy as _


class FeeIdsField(forms.Field):
    """The ids of checked fees; the page renders the checkboxes in its fee table."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Please select the fees you want to pay."),
        "invalid": _("The selection could not be read. Please reload the page and try again."),
    }

    def to_python(self, value):
        values = value or []
        # isdigit() alone lets through '²' (int() fails) and '٣' (int() reads it as 3).
        if not all(
            isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 19 for v in values
        ):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return sorted({int(v) for v in values})


class FeeSelectionForm(forms.Form):
    fee = FeeIdsField()
    # Sent only where the owner offers several providers; order_create checks it is one.
    provider = forms.CharField(required=False)
