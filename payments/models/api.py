"""Clients of the JSON API: their keys (stored hashed), requests and idempotency."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    FEES_WRITE = "fees:write", _("Post patrons, fees and overdue loans")
    PAYMENTS_WRITE = "payments:write", _("Report payments")
    ACCOUNTS_READ = "accounts:read", _("Read account summaries")
    MOVEMENTS_READ = "movements:read", _("Read the feed of money movements")


class ApiClient(models.Model):
    """Another system allowed to use the API. Its key is shown once and stored hashed."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # The key is "<prefix>.<secret>"; the prefix finds the client, the hash proves the secret.
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    # The library system this client speaks for: the patron and fee ids it sends are kept
    # under this name, so that two systems feeding the portal can use the same ids.
    library_system = models.CharField(
        _("library system"),
        max_length=32,
        blank=True,
        help_text=_("Leave empty when only one library system feeds the portal."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiRequest(models.Model):
    """Every API request, with the client that made it (when it could be identified)."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("API request")
        verbose_name_plural = _("API requests")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["client", "at"], name="apirequest_client_at")]

    def __str__(self):
        return f"{self.method} {self.path} {self.status}"


class ApiIdempotencyRecord(models.Model):
    """The answer given to a caller's id, so that a repeat gets the same answer."""

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="+")
    operation = models.CharField(max_length=32)
    key = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "operation", "key"], name="api_idempotency_once"
            )
        ]

    def __str__(self):
        return f"{self.operation}:{self.key}"
