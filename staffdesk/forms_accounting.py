from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fees.models import Owner
from staffdesk.accounting import yesterday


class AccountingExportForm(forms.Form):
    date = forms.DateField(
        label=_("Business date"),
        initial=yesterday,
        # A date input only shows an ISO date, whatever the interface language.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=Owner.objects.all(),
        required=False,
        empty_label=_("All owners"),
        to_field_name="code",
    )
    format = forms.ChoiceField(
        label=_("File"),
        choices=[("csv", _("CSV")), ("xlsx", _("Excel workbook (.xlsx)"))],
        initial="csv",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, owners=None, **kwargs):
        """`owners`: the ids of the owners the user works for (None: all); a user of some
        exports one of them at a time."""
        super().__init__(*args, **kwargs)
        if owners is not None:
            self.fields["owner"].queryset = Owner.objects.filter(pk__in=owners)
            self.fields["owner"].required = True
            self.fields["owner"].empty_label = None

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date > timezone.localdate():
            raise forms.ValidationError(
                _("This date is in the future: nothing is booked for it yet.")
            )
        return date
