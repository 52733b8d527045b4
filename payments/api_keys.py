"""API keys: random, shown once, stored as a SHA-256 hash (they carry 256 bits of chance,
so a slow password hash would add nothing but latency)."""

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from payments.models import ApiClient


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_client_create(*, name: str, scopes: list[str], note: str = "") -> tuple[ApiClient, str]:
    """A new client and its key; the key is not stored and cannot be shown again."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    client = ApiClient.objects.create(
        name=name, scopes=scopes, note=note, key_prefix=prefix, key_hash=_hash(secret)
    )
    return client, f"{prefix}.{secret}"


def api_client_for_key(key: str) -> ApiClient | None:
    """The active client this key belongs to, or None."""
    prefix, _, secret = key.partition(".")
    client = ApiClient.objects.filter(key_prefix=prefix, revoked_at__isnull=True).first()
    if client is None or not hmac.compare_digest(client.key_hash, _hash(secret)):
        return None
    return client


def api_client_revoke(*, client: ApiClient) -> None:
    ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
