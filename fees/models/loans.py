"""Overdue loans still out: the source of accruing fines, shown and never booked."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Loan(models.Model):
    """An overdue loan still out. Its fine accrues until the item comes back.

    The fine is shown to the patron but never booked here: the library system
    books the final fee at return.
    """

    patron = models.ForeignKey("accounts.Patron", on_delete=models.CASCADE, related_name="loans")
    item = models.CharField(_("item"), max_length=255)
    barcode = models.CharField(_("barcode"), max_length=64, blank=True)
    due_date = models.DateField(_("due date"))
    daily_fine_cents = models.PositiveIntegerField(_("fine per day (cents)"))
    fine_cap_cents = models.PositiveIntegerField(_("fine cap (cents)"))
    currency = models.CharField(_("currency"), max_length=3)

    class Meta:
        verbose_name = _("overdue loan")
        verbose_name_plural = _("overdue loans")
        ordering = ["due_date", "id"]

    def __str__(self):
        return f"{self.item} (due {self.due_date})"

    def accrued_fine_cents(self, on_date):
        days_overdue = max(0, (on_date - self.due_date).days)
        return min(self.fine_cap_cents, days_overdue * self.daily_fine_cents)
