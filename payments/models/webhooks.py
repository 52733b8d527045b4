from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookTransmission(models.Model):
    """A provider's webhook delivery already accepted, by the id the provider signed with
    it (PayPal's transmission id): the same delivery sent again is refused. Kept only while
    its signed time is recent; after that the signature check refuses it by itself."""

    provider = models.CharField(_("provider"), max_length=32)
    transmission_id = models.CharField(_("transmission id"), max_length=255)
    sent_at = models.DateTimeField(_("signed at"))

    class Meta:
        verbose_name = _("webhook transmission")
        verbose_name_plural = _("webhook transmissions")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "transmission_id"], name="webhook_transmission_once"
            )
        ]
        indexes = [models.Index(fields=["sent_at"], name="webhook_transmission_sent")]

    def __str__(self):
        return f"{self.provider} {self.transmission_id}"
