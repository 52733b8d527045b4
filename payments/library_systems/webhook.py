"""The generic signed webhook: each movement is POSTed as JSON to LIBRARY_SYSTEM_URL.

Headers: `Idempotency-Key` (the movement's key, the same on every attempt) and
`X-Epayment-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with
LIBRARY_SYSTEM_SECRET>`. Any 2xx means taken; the README tells a library's IT how to
build the receiver.
"""

import dataclasses
import hashlib
import hmac
import json
import time

import requests
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems.base import Movement, http_send
from payments.library_systems.config import SystemConfig

SIGNATURE_HEADER = "X-Epayment-Signature"


def movement_json(movement: Movement) -> dict:
    body = dataclasses.asdict(movement)
    body["booked_at"] = movement.booked_at.isoformat()
    return body


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class WebhookTarget:
    name = "webhook"

    def __init__(self, *, url: str, secret: str, timeout: float):
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.session = requests.Session()

    def deliver(self, movement: Movement) -> str:
        body = json.dumps(movement_json(movement), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": movement.key,
            SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
        }
        response = http_send(
            self.session, "POST", self.url, timeout=self.timeout, data=body, headers=headers
        )
        return f"{response.status_code} {response.text[:200]}".strip()


def from_settings(config: SystemConfig | None = None) -> WebhookTarget:
    config = config or SystemConfig.portal()
    if not (config.url and config.secret):
        raise ImproperlyConfigured(
            f"The webhook target needs {config.setting('url')} and {config.setting('secret')}."
        )
    return WebhookTarget(
        url=config.url,
        secret=config.secret,
        timeout=config.timeout,
    )
