"""Hand-off links as a catalogue makes them (the README's recipe, in Python)."""

import hashlib
import hmac
import time
from urllib.parse import urlencode

from django.urls import reverse

HANDOFF = reverse("accounts:handoff")
SECRET = "catalogue-and-portal-share-this"


def signed_link(patron="U-1", expires=None, nonce="a1b2c3d4e5f60718", return_url="", **changed):
    """The path and query of a link signed with SECRET; `changed` overrides parameters."""
    expires = str(int(time.time()) + 120 if expires is None else expires)
    message = "|".join((patron, expires, nonce, return_url)).encode()
    params = {
        "patron": patron,
        "expires": expires,
        "nonce": nonce,
        "return": return_url,
        "signature": hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest(),
    }
    params.update(changed)
    return f"{HANDOFF}?{urlencode(params)}"
