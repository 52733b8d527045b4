"""Verifying PayPal's webhook signatures offline, as PayPal documents it.

PayPal signs `transmission_id|transmission_time|webhook_id|crc32(body)` (the CRC as an
unsigned decimal) with the private key of a certificate it names by URL. The URL is the
sender's word, so the certificate is fetched only from PayPal's own API hosts over https
(tests add their fake's address through a setting), and kept: PayPal rotates certificates
rarely. A transmission is accepted once, and only while its time is recent.

Offline rather than through PayPal's verify-webhook-signature call: accepting a delivery
then needs no round trip to PayPal and no access token, so a slow or failing PayPal API
does not turn valid deliveries into errors that PayPal retries, and the check the tests
make with their own signed deliveries is the very one production runs.
"""

import base64
import binascii
import datetime
import threading
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from payments.models import WebhookTransmission
from payments.providers.base import InvalidSignature, ProviderError

PAYPAL_CERT_ORIGINS = ("https://api.paypal.com", "https://api.sandbox.paypal.com")
HEADERS = {
    "id": "PAYPAL-TRANSMISSION-ID",
    "time": "PAYPAL-TRANSMISSION-TIME",
    "sig": "PAYPAL-TRANSMISSION-SIG",
    "cert-url": "PAYPAL-CERT-URL",
    "algo": "PAYPAL-AUTH-ALGO",
}
ALGORITHMS = {"SHA256withRSA": hashes.SHA256}
PROVIDER = "paypal"

_certificates: dict[str, x509.Certificate] = {}
_certificates_lock = threading.Lock()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def trusted_cert_url(url: str) -> bool:
    origins = {*PAYPAL_CERT_ORIGINS, *(o.rstrip("/").lower() for o in settings.PAYPAL_CERT_ORIGINS)}
    parts = urlsplit(url)
    return (
        _origin(url) in origins
        and parts.path.startswith("/v1/notifications/certs/")
        and not parts.query
        and not parts.fragment
        and "@" not in parts.netloc
    )


def certificate(url: str, timeout: float) -> x509.Certificate:
    with _certificates_lock:
        known = _certificates.get(url)
    if known is not None and known.not_valid_after_utc > timezone.now():
        return known
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False)
        response.raise_for_status()
    except requests.RequestException as error:
        # Not the sender's fault perhaps: the delivery is answered 503 and comes again.
        raise ProviderError(f"PayPal's certificate could not be fetched: {error}") from error
    try:
        cert = x509.load_pem_x509_certificate(response.content)
    except ValueError as error:
        raise InvalidSignature("the certificate URL holds no certificate") from error
    now = timezone.now()
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise InvalidSignature("the certificate is not valid now")
    with _certificates_lock:
        _certificates[url] = cert
    return cert


def forget_certificates() -> None:
    with _certificates_lock:
        _certificates.clear()


def transmission(headers) -> dict[str, str]:
    """PayPal's signature headers (refused when one is missing)."""
    found = {name: headers.get(header, "") for name, header in HEADERS.items()}
    missing = [name for name, value in found.items() if not value]
    if missing:
        raise InvalidSignature(f"missing PayPal headers: {', '.join(missing)}")
    return found


def verify(body: bytes, headers, *, webhook_id: str, tolerance_seconds: int, timeout: float):
    """Raise InvalidSignature unless PayPal signed this body for this webhook recently;
    the transmission's (id, time) when it did."""
    sent = transmission(headers)
    if sent["algo"] not in ALGORITHMS:
        raise InvalidSignature(f"unknown algorithm {sent['algo']!r}")
    at = parse_datetime(sent["time"])
    if at is None or at.tzinfo is None:
        raise InvalidSignature("unreadable transmission time")
    age = (timezone.now() - at).total_seconds()
    if abs(age) > tolerance_seconds:
        raise InvalidSignature("stale transmission time")
    if not trusted_cert_url(sent["cert-url"]):
        raise InvalidSignature("certificate URL not on PayPal's hosts")
    try:
        signature = base64.b64decode(sent["sig"], validate=True)
    except binascii.Error as error:
        raise InvalidSignature("signature is not base64") from error
    message = f"{sent['id']}|{sent['time']}|{webhook_id}|{binascii.crc32(body)}".encode()
    key = certificate(sent["cert-url"], timeout).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignature("the certificate's key is no RSA key")
    try:
        key.verify(signature, message, padding.PKCS1v15(), ALGORITHMS[sent["algo"]]())
    except BadSignature as error:
        raise InvalidSignature("signature does not match") from error
    return sent["id"], at


def remember_transmission(transmission_id: str, at: datetime.datetime, tolerance: int) -> None:
    """Accept a transmission once: a replayed one is refused. Ids are kept until their time
    is stale (the signature check refuses them from then on anyway)."""
    WebhookTransmission.objects.filter(
        provider=PROVIDER, sent_at__lt=timezone.now() - datetime.timedelta(seconds=2 * tolerance)
    ).delete()
    try:
        with transaction.atomic():
            WebhookTransmission.objects.create(
                provider=PROVIDER, transmission_id=transmission_id[:255], sent_at=at
            )
    except IntegrityError as error:
        raise InvalidSignature("transmission replayed") from error


def forget_transmission(transmission_id: str) -> None:
    WebhookTransmission.objects.filter(provider=PROVIDER, transmission_id=transmission_id).delete()
