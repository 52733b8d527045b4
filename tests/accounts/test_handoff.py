"""The catalogue's "Pay fees" link (accounts.handoff and its view): a signed link or a
Primo VE JWT signs the patron in once; anything else is refused with a clear page and no
session."""

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from accounts import handoff
from accounts.models import HandoffUse
from tests.accounts.handoff_links import HANDOFF, SECRET, signed_link
from tests.accounts.helpers import signed_in_patron
from tests.factories import PatronFactory
from tests.library_systems.fake_server import FakeServer, Reply
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _handoff_settings(settings):
    settings.HANDOFF_SECRET = SECRET
    settings.HANDOFF_RETURN_HOSTS = ["opac.example.org"]
    settings.HANDOFF_PATRON_MATCH = "user_number"
    settings.LIBRARY_SYSTEM_TARGET = ""


# --- the signed link ---------------------------------------------------------------------


def test_a_signed_link_signs_the_patron_in_and_leads_to_the_account(client):
    patron = PatronFactory(user_number="U-1")

    response = client.get(signed_link())

    assert response.url == reverse("payments:account")
    assert signed_in_patron(client) == patron


def test_the_same_link_a_second_time_is_refused(client):
    PatronFactory(user_number="U-1")
    link = signed_link()
    client.get(link)
    client.post(reverse("accounts:logout"))

    response = client.get(link)

    assert response.status_code == 403
    assert "This link cannot be used" in response.content.decode()
    assert signed_in_patron(client) is None


def test_an_expired_link_is_refused(client):
    PatronFactory(user_number="U-1")

    response = client.get(signed_link(expires=int(time.time()) - 120))

    assert response.status_code == 403
    assert signed_in_patron(client) is None


def test_a_link_meant_to_live_longer_than_allowed_is_refused(client):
    PatronFactory(user_number="U-1")

    response = client.get(signed_link(expires=int(time.time()) + 86400))

    assert response.status_code == 403


def test_a_link_with_another_patron_put_in_is_refused(client):
    PatronFactory(user_number="U-1")
    PatronFactory(user_number="U-2")
    link = signed_link(patron="U-1").replace("patron=U-1", "patron=U-2")

    response = client.get(link)

    assert response.status_code == 403
    assert signed_in_patron(client) is None


def test_a_way_back_to_the_catalogue_is_kept_and_offered(client):
    PatronFactory(user_number="U-1")

    client.get(signed_link(return_url="https://opac.example.org/account"))
    page = client.get(reverse("payments:account")).content.decode()

    assert 'href="https://opac.example.org/account"' in page
    assert "Back to the catalogue" in page


@pytest.mark.parametrize(
    "return_url",
    [
        "https://evil.example/",
        "https://opac.example.org.evil.example/",
        "javascript:alert(1)",
        "https://user@opac.example.org/",
    ],
)
def test_a_way_back_to_a_host_not_allowed_refuses_the_link(client, return_url):
    PatronFactory(user_number="U-1")

    response = client.get(signed_link(return_url=return_url))

    assert response.status_code == 403
    assert signed_in_patron(client) is None


def test_a_link_missing_a_part_is_refused(client):
    response = client.get(signed_link(nonce=""))

    assert response.status_code == 403


def test_signed_links_are_off_without_a_secret(client, settings):
    PatronFactory(user_number="U-1")
    link = signed_link()
    settings.HANDOFF_SECRET = ""

    assert client.get(link).status_code == 403


def test_a_link_naming_nobody_known_gets_the_not_linked_page(client):
    response = client.get(signed_link(patron="U-404"))

    assert response.status_code == 403
    assert "not linked to a library card" in response.content.decode()


def test_a_link_for_a_patron_of_the_library_system_creates_them_from_it(client, koha, settings):
    settings.HANDOFF_PATRON_MATCH = "external_id"
    koha.add_patron(42, "1000000042", "Muster")

    client.get(signed_link(patron="42"))

    assert signed_in_patron(client).external_id == "42"


def test_a_link_when_the_library_system_is_down_says_so(client, koha, settings):
    settings.HANDOFF_PATRON_MATCH = "external_id"
    koha.server.route("GET", r"/api/v1/patrons/42.*", Reply(503, {"error": "down"}))

    response = client.get(signed_link(patron="42"))

    assert response.status_code == 503
    assert signed_in_patron(client) is None


# --- Primo VE's JWT ------------------------------------------------------------------------


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(key, kid: str) -> dict:
    numbers = key.public_key().public_numbers()

    def b64(number: int) -> str:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64(numbers.n), "e": b64(numbers.e)}  # fmt: skip


class Institution:
    """The institution's key set, served over HTTP as Alma serves it."""

    def __init__(self):
        self.keys = {"k1": rsa_key()}
        self.server = FakeServer()
        self.server.route("GET", r"/jwks\.json", self._jwks)

    def _jwks(self, request):
        return Reply(200, {"keys": [jwk_of(key, kid) for kid, key in self.keys.items()]})

    def token(self, kid="k1", key=None, lifetime=300, **claims) -> str:
        now = int(time.time())
        payload = {"iss": "Primo", "user": "U-1", "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode(payload, key or self.keys[kid], algorithm="RS256",
                          headers={"kid": kid})  # fmt: skip


@pytest.fixture
def institution(settings):
    handoff.JWKS_CLIENTS.clear()
    served = Institution()
    with served.server:
        settings.HANDOFF_JWKS_URL = served.server.url + "/jwks.json"
        yield served
    handoff.JWKS_CLIENTS.clear()


def jwt_link(token: str, **params) -> str:
    return f"{HANDOFF}?{urlencode({'jwt': token, **params})}"


def test_a_primo_token_signs_the_patron_in(client, institution):
    patron = PatronFactory(user_number="U-1")

    response = client.get(jwt_link(institution.token()))

    assert response.url == reverse("payments:account")
    assert signed_in_patron(client) == patron


def test_a_primo_token_works_once(client, institution):
    PatronFactory(user_number="U-1")
    token = institution.token()
    client.get(jwt_link(token))
    client.post(reverse("accounts:logout"))

    assert client.get(jwt_link(token)).status_code == 403
    assert signed_in_patron(client) is None


def test_an_expired_token_is_refused(client, institution):
    PatronFactory(user_number="U-1")

    response = client.get(jwt_link(institution.token(lifetime=-120)))

    assert response.status_code == 403


def test_a_token_signed_by_a_key_not_in_the_set_is_refused(client, institution):
    PatronFactory(user_number="U-1")

    response = client.get(jwt_link(institution.token(key=rsa_key())))

    assert response.status_code == 403
    assert signed_in_patron(client) is None


def test_a_token_with_alg_none_is_refused(client, institution):
    PatronFactory(user_number="U-1")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "k1"}).encode())
    body = base64.urlsafe_b64encode(json.dumps(
        {"user": "U-1", "iat": int(time.time()), "exp": int(time.time()) + 300}
    ).encode())  # fmt: skip
    token = f"{header.rstrip(b'=').decode()}.{body.rstrip(b'=').decode()}."

    assert client.get(jwt_link(token)).status_code == 403
    assert signed_in_patron(client) is None


def test_a_token_signed_hs256_with_the_public_key_as_secret_is_refused(client, institution):
    PatronFactory(user_number="U-1")
    public = (
        institution.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(time.time())
    token = _hs256(public, {"user": "U-1", "iat": now, "exp": now + 300})

    assert client.get(jwt_link(token)).status_code == 403
    assert signed_in_patron(client) is None


def _hs256(secret: bytes, claims: dict) -> str:
    """An HS256 token made by hand: PyJWT itself refuses a PEM key as an HMAC secret."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'k1'}).encode())}." + b64(
        json.dumps(claims).encode()
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_a_rotated_key_is_picked_up_from_the_key_set(client, institution, settings):
    settings.HANDOFF_JWKS_COOLDOWN_SECONDS = 0
    handoff.JWKS_CLIENTS.clear()
    PatronFactory(user_number="U-1")
    client.get(jwt_link(institution.token()))  # the key set is cached now
    client.post(reverse("accounts:logout"))
    institution.keys = {"k2": rsa_key()}

    response = client.get(jwt_link(institution.token(kid="k2")))

    assert response.url == reverse("payments:account")


def test_a_token_without_the_patron_claim_is_refused(client, institution):
    response = client.get(jwt_link(institution.token(user="")))

    assert response.status_code == 403


def test_a_key_id_made_up_does_not_fetch_the_key_set_again_within_the_cooldown(client, institution):
    PatronFactory(user_number="U-1")
    client.get(jwt_link(institution.token()))
    fetched = len(institution.server.sent("GET", r"/jwks\.json"))

    client.get(jwt_link(institution.token(kid="made-up", key=rsa_key())))

    assert len(institution.server.sent("GET", r"/jwks\.json")) == fetched


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_link_opened_four_times_at_once_signs_in_once():
    PatronFactory(user_number="U-1")
    link = signed_link()

    statuses = run_in_threads(4, lambda _index: Client().get(link).status_code)

    assert sorted(statuses) == [302, 403, 403, 403]
    assert HandoffUse.objects.count() == 1
