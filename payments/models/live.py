from django.db import models
from django.utils.translation import gettext_lazy as _


class FeesRead(models.Model):
    """When the patron's fees were last read from the library system, and whether the
    last attempt failed (and why, without secrets)."""

    patron = models.OneToOneField(
        "accounts.Patron", on_delete=models.CASCADE, related_name="fees_read"
    )
    read_at = models.DateTimeField(_("last read"), null=True, blank=True)
    failed_at = models.DateTimeField(_("last failed"), null=True, blank=True)
    failure = models.CharField(_("why it failed"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("fees read from the library system")
        verbose_name_plural = _("fees read from the library system")
        indexes = [models.Index(fields=["failed_at"], name="fees_read_failed")]

    def __str__(self):
        return str(self.patron_id)

    @property
    def failing(self) -> bool:
        """The last attempt failed: what the portal holds may be out of date."""
        return self.failed_at is not None and (
            self.read_at is None or self.failed_at > self.read_at
        )
