"""Webhook deliveries signed as PayPal signs them, with the tests' own certificate.

PayPal signs `transmission_id|transmission_time|webhook_id|crc32(body)` with SHA256withRSA;
the fake PayPal serves the certificate at the URL the delivery names.
"""

import base64
import binascii
import datetime
import json
import secrets
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.library_systems.openapi3 import OpenApi3Check
from tests.payments.fake_paypal import SPECS, paypal_id

WEBHOOK_ID = "8PT597110X687430LKGECATA"


@cache
def key_and_certificate() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def event(event_type: str, resource: dict, *, resource_type: str = "capture") -> dict:
    """A webhook event as PayPal sends it (its `event` schema in notifications_webhooks_v1)."""
    return {
        "id": f"WH-{paypal_id(8)}-{paypal_id(17)}",
        "create_time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "resource_type": resource_type,
        "event_type": event_type,
        "summary": f"{event_type} (fake)",
        "resource_version": "2.0",
        "resource": resource,
        "links": [],
    }


def event_problems(payload: dict) -> list[str]:
    """Where the event differs from PayPal's description of one."""
    check = OpenApi3Check(SPECS / "notifications_webhooks_v1.json")
    document = check.documents[0]
    return document.problems({"$ref": "#/components/schemas/event"}, payload, "event")


def signed_headers(
    body: bytes,
    *,
    cert_url: str,
    webhook_id: str = WEBHOOK_ID,
    transmission_id: str | None = None,
    sent_at: datetime.datetime | None = None,
) -> dict[str, str]:
    key, _pem = key_and_certificate()
    transmission_id = transmission_id or secrets.token_hex(16)
    at = (sent_at or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = f"{transmission_id}|{at}|{webhook_id}|{binascii.crc32(body)}".encode()
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-TIME": at,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }


def encoded(payload: dict) -> bytes:
    return json.dumps(payload).encode()
