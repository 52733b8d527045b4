from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class FeesReadQuerySet(models.QuerySet):
    def failing(self):
        """The reads whose last attempt failed: `FeesRead.failing` as a query."""
        return self.filter(
            Q(read_at__isnull=True) | Q(failed_at__gt=F("read_at")), failed_at__isnull=False
        )


class FeesRead(models.Model):
    """When the patron's fees were last read from the library system, and whether the
    last attempt failed (and why, without secrets)."""

    patron = models.OneToOneField(
        "accounts.Patron", on_delete=models.CASCADE, related_name="fees_read"
    )
    read_at = models.DateTimeField(_("last read"), null=True, blank=True)
    failed_at = models.DateTimeField(_("last failed"), null=True, blank=True)
    failure = models.CharField(_("why it failed"), max_length=500, blank=True)

    objects = FeesReadQuerySet.as_manager()

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


class PullRun(models.Model):
    """One run of `manage.py pull_fees`: how far it got, so that a run stopped part-way
    (a crash, a deploy) goes on from there. Patrons are read in batches in the order of
    their id; `done_up_to` is the last id of the last batch read in full."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    selection = models.CharField(_("which patrons"), max_length=16)
    done_up_to = models.BigIntegerField(_("read up to patron id"), default=0)
    read = models.PositiveIntegerField(_("patrons read"), default=0)
    changed = models.PositiveIntegerField(_("patrons whose fees changed"), default=0)
    failed = models.PositiveIntegerField(_("reads that failed"), default=0)

    class Meta:
        verbose_name = _("run of pull_fees")
        verbose_name_plural = _("runs of pull_fees")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.selection} {self.started_at:%Y-%m-%d %H:%M}"
