"""The simulated provider's checkouts: its hosted page's state, test mode only."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SimulatedCheckout(models.Model):
    """The simulated provider's own record of a checkout: what a real provider keeps.

    The portal reads it only through the provider interface (webhooks and fetch).
    """

    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        UNDERPAID = "underpaid", _("Paid less")
        FAILED = "failed", _("Failed")
        ABANDONED = "abandoned", _("Abandoned")
        EXPIRED = "expired", _("Expired")
        CHARGED_BACK = "charged_back", _("Charged back")

    transaction_id = models.CharField(max_length=64, unique=True)
    # The merchant account that took it: an owner's code, "" for the portal's own.
    merchant = models.CharField(max_length=64, blank=True)
    order_reference = models.CharField(max_length=16)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OPEN)
    paid_cents = models.BigIntegerField(default=0)
    method = models.CharField(max_length=32, blank=True)
    return_url = models.CharField(max_length=500)
    cancel_url = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    # Signed callbacks the tester chose to hold back, delivered later on request.
    held_callbacks = models.JSONField(default=list, blank=True)
    # Refunds made of this checkout's money: {"id", "reference", "amount_cents", "status"}.
    refunds = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("simulated checkout")

    def __str__(self):
        return self.transaction_id
