import re
import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from fees.amounts import format_money
from fees.models import Delivery, EntryKind, JournalEntry, Owner
from payments.labels import datetime_label
from payments.models import Mode, MoneyReport, OrderStatus, Refund
from staffdesk.models import StaffAction


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Reference, card or user number"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "autofocus": True}),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *OrderStatus.choices]
    )
    mode = forms.ChoiceField(
        label=_("Mode"), required=False, choices=[("", _("any")), *Mode.choices]
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    attention = forms.BooleanField(label=_("Needs attention"), required=False)

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def search_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "query": data["q"],
            "status": data["status"],
            "mode": data["mode"],
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "attention": data["attention"],
        }


class SubmissionForm(forms.Form):
    """Carries a one-time token so a double submit has one effect."""

    submission = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    # Fields that choose the action or its target rather than give the action its input.
    choosing_fields: tuple[str, ...] = ()

    def action_input(self) -> dict:
        """What the desk action is given: the cleaned fields by name, token included."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in self.choosing_fields
        }


class OrderActionForm(SubmissionForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded with your name in the order's history."),
    )


class RequeryForm(SubmissionForm):
    pass


class AskAgainForm(forms.Form):
    """Asking the provider about a refund again takes no input (the refund is in the URL)
    and no token: asking twice is harmless."""

    def action_input(self) -> dict:
        return {}


DELIVERY_ACTIONS = [
    (StaffAction.Kind.RETRY_DELIVERY, _("Send again now")),
    (StaffAction.Kind.RESOLVE_DELIVERY, _("Resolved by hand")),
]


class DeliveryActionForm(SubmissionForm):
    delivery = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    action = forms.ChoiceField(choices=DELIVERY_ACTIONS)
    reason = forms.CharField(label=_("Note"), max_length=500, required=False)
    choosing_fields = ("delivery", "action")


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("not in the library system yet")), *Delivery.Status.choices],
    )


class ResolveProviderReportForm(forms.Form):
    report = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label=_("Resolution"), max_length=500)


class MoneyActionForm(OrderActionForm):
    """Book or close one of the order's money records that wait for staff."""

    money = forms.ModelChoiceField(
        label=_("Money received"),
        queryset=MoneyReport.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        required=False,
        help_text=_("The oldest is taken when none is chosen."),
    )

    def __init__(self, *args, held=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["money"]
        field.queryset = held if held is not None else MoneyReport.objects.none()
        field.label_from_instance = _money_label
        if len(field.queryset) == 1:
            field.initial = field.queryset[0].pk


class ResolveFlagForm(OrderActionForm):
    """Say how an underpayment or chargeback was dealt with (the choices fit the order)."""

    resolution = forms.ChoiceField(
        label=_("What was done"),
        widget=forms.RadioSelect,
        help_text=_(
            "A waiver or counter payment is booked on the patron's page first; this records "
            "that the order is dealt with."
        ),
    )
    field_order = ["resolution", "reason"]

    def __init__(self, *args, resolutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resolution"].choices = list(resolutions)


def _money_label(report: MoneyReport) -> str:
    return _("%(amount)s, %(source)s, received %(date)s") % {
        "amount": format_money(report.amount_cents, report.currency),
        "source": report.get_source_display(),
        "date": datetime_label(report.received_at),
    }


class AmountField(forms.DecimalField):
    """An amount typed with the digits 0-9 only, with a decimal comma or point.

    Decimal() reads other scripts' digits too (Arabic-Indic or full-width ones), so a
    slip of the keyboard layout would be booked silently; such an amount is refused.

    Staff type "0,50" and "0.50" whatever the page's language, so either mark is the
    decimal separator. Grouping marks are not read: "1.500" and "1,500" have three
    decimals and are refused rather than guessed at a thousandfold.
    """

    default_error_messages = {
        "digits": _("Type the amount with the digits 0 to 9."),
        "invalid": _("Enter the amount as a number, such as 12.50 or 12,50."),
        "max_decimal_places": _("Enter at most two decimals, such as 12.50 or 12,50."),
    }
    AMOUNT = re.compile(r"\d+(?:[.,]\d*)?|[.,]\d+")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    def to_python(self, value):
        value = "" if value is None else str(value).strip()
        if not value:
            return None
        if any(ch.isnumeric() and not ch.isascii() for ch in value):
            raise forms.ValidationError(self.error_messages["digits"], code="digits")
        if not self.AMOUNT.fullmatch(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return Decimal(value.replace(",", "."))


class PatronLookupForm(forms.Form):
    q = forms.CharField(max_length=64)


Kind = StaffAction.Kind
COUNTER_KINDS = [
    (Kind.COUNTER_PAYMENT, _("Payment at the desk")),
    (Kind.CREDIT_NOTE, _("Credit note")),
    (Kind.WAIVER, _("Waive a fee")),
    (Kind.REFUND, _("Refund of credit")),
]
METHODS = [("cash", _("Cash")), ("card", _("Card")), ("transfer", _("Bank transfer"))]


class AmountInCents:
    """For a form with an `amount` field: the amount in whole cents."""

    @property
    def amount_cents(self) -> int | None:
        amount = self.cleaned_data.get("amount")
        return None if amount is None else int(amount * 100)

    def action_input(self) -> dict:
        given = super().action_input()
        del given["amount"]
        return given | {"amount_cents": self.amount_cents}


class CounterBookingForm(AmountInCents, SubmissionForm):
    kind = forms.ChoiceField(label=_("Booking"), choices=COUNTER_KINDS)
    amount = AmountField(
        label=_("Amount"),
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0.01"),
        localize=True,
        required=False,
        help_text=_("For a waiver, leave empty to waive all that is open."),
    )
    fee = forms.ModelChoiceField(
        label=_("Fee (for a waiver)"), queryset=JournalEntry.objects.none(), required=False
    )
    for_fees = forms.ModelMultipleChoiceField(
        label=_("Fees it pays (for a payment or credit note)"),
        queryset=JournalEntry.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "These are offset first; what is left pays the oldest open fees, then becomes credit."
        ),
    )
    method = forms.ChoiceField(label=_("Paid by"), choices=METHODS, required=False)
    owner = forms.ModelChoiceField(
        label=_("Whose money"),
        queryset=Owner.objects.none(),
        help_text=_("The library or branch whose books the money goes to."),
    )
    note = forms.CharField(label=_("Note"), max_length=500)
    choosing_fields = ("kind",)

    def __init__(self, *args, open_fees=(), owners=None, **kwargs):
        """`owners`: those the desk user books for; with one or none there is no choice."""
        super().__init__(*args, **kwargs)
        owners = owners if owners is not None else Owner.objects.none()
        if owners.count() > 1:
            self.fields["owner"].queryset = owners
            self.fields["owner"].initial = owners.filter(is_default=True).first()
        else:
            del self.fields["owner"]
        # The ledger's rows carry what is open of each fee; the choices are labelled by them.
        by_pk = {fee.pk: fee for fee in open_fees}
        for name in ("fee", "for_fees"):
            field = self.fields[name]
            field.queryset = JournalEntry.objects.filter(pk__in=by_pk).select_related("target")
            field.label_from_instance = lambda fee: fee_choice_label(by_pk.get(fee.pk, fee))

    def clean(self):
        cleaned = super().clean()
        kind, amount = cleaned.get("kind"), cleaned.get("amount")
        if kind == Kind.WAIVER and not cleaned.get("fee"):
            self.add_error("fee", _("Choose the fee to waive."))
        if cleaned.get("for_fees") and kind not in (Kind.COUNTER_PAYMENT, Kind.CREDIT_NOTE):
            self.add_error("for_fees", _("Only a payment or a credit note pays named fees."))
        # A typed amount that could not be read has said so already.
        if kind != Kind.WAIVER and amount is None and "amount" not in self.errors:
            self.add_error("amount", _("Enter the amount."))
        if kind in (Kind.COUNTER_PAYMENT, Kind.REFUND) and not cleaned.get("method"):
            self.add_error("method", _("Say how the money was paid."))
        return cleaned


class RefundForm(AmountInCents, SubmissionForm):
    source = forms.ChoiceField(
        label=_("Pay back"),
        choices=Refund.Source.choices,
        widget=forms.RadioSelect,
    )
    amount = AmountField(
        label=_("Amount"), max_digits=9, decimal_places=2, min_value=Decimal("0.01"), localize=True
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, sources=None, preferred=None, **kwargs):
        """`sources`: what the refund can be paid from now, the default first; only these
        are offered. Any source is still read from a form sent, so that the service says
        why one cannot be used (the credit is gone meanwhile)."""
        super().__init__(*args, **kwargs)
        if sources is None:
            return
        field = self.fields["source"]
        field.widget.choices = [(code, Refund.Source(code).label) for code in sources]
        if sources:
            field.initial = preferred if preferred in sources else sources[0]


def fee_choice_label(fee: JournalEntry) -> str:
    """What a librarian recognises a fee by: its text, the item, and what is still open."""
    if fee.kind == EntryKind.REVERSAL:
        text = _("Returned payment (chargeback)")
        if fee.target_id and fee.target.reference:
            text = f"{text} {fee.target.reference}"
    else:
        text = " \u2013 ".join(part for part in (fee.description, fee.item) if part)
    open_cents = getattr(fee, "open_cents", fee.amount_cents)
    return _("%(fee)s: %(open)s open") % {
        "fee": text,
        "open": format_money(open_cents, fee.currency),
    }
