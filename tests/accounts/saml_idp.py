"""A real SAML 2 identity provider for the single sign-on tests: pysaml2's IdP behind a
small WSGI server on 127.0.0.1, with a key pair of its own made for the test run. It takes
the portal's AuthnRequest through the HTTP-Redirect binding, signs one fixed test user in
without asking, and answers with a signed assertion through the HTTP-POST binding (a
form the browser posts to the portal's ACS); it ends its session at single logout (a
LogoutRequest in, a LogoutResponse back, HTTP-Redirect both). Tests make it misbehave:
assertions signed by another key, unsigned, or already expired.

``with SAMLIdentityProvider(folder) as idp:``; `browser_sign_in` plays the browser's part."""

import atexit
import datetime
import functools
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.saml import AUTHN_PASSWORD, NAME_FORMAT_URI, NAMEID_FORMAT_TRANSIENT
from saml2.server import Server
from saml2.sigver import security_context
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from tests.accounts.local_server import LocalWSGIServer

ACS_PATH = "/saml2/acs/"
USER = "erika"


@functools.cache
def key_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="saml-keys-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def key_pair(name: str) -> tuple[str, str]:
    """The paths of an RSA key and its self-signed certificate (PEM), made once per test
    run and name: a key that is not the IdP's signs just as well, but differently."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = key_folder() / f"{name}.key", key_folder() / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


class SAMLIdentityProvider(LocalWSGIServer):
    def __init__(self, folder: Path, single_logout: bool = True):
        super().__init__()
        self.users = {
            USER: {
                "eduPersonPrincipalName": ["42"],
                "mail": ["erika@uni.example"],
                "cn": ["Erika Muster"],
            }
        }
        self.user_id = USER  # whom the IdP signs in
        self.signing_key = "idp"  # the key pair the assertions are signed with
        self.signed = True
        self.lifetime = {"minutes": 5}  # of each assertion
        self.single_logout = single_logout
        self.authn_requests: list = []  # the AuthnRequests, as parsed
        self.logout_requests: list = []
        self.entity_id = f"{self.url}/idp"
        self.sp_metadata: str | None = None
        self.metadata_file = folder / "idp-metadata.xml"
        self.sign_metadata(None)

    def config(self, key_name: str) -> IdPConfig:
        key_file, cert_file = key_pair(key_name)
        endpoints = {"single_sign_on_service": [(f"{self.url}/sso", BINDING_HTTP_REDIRECT)]}
        if self.single_logout:
            endpoints["single_logout_service"] = [(f"{self.url}/slo", BINDING_HTTP_REDIRECT)]
        description = {
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": key_file,
            "cert_file": cert_file,
            "service": {
                "idp": {
                    "name": "Test University",
                    "endpoints": endpoints,
                    "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                    "signing_algorithm": SIG_RSA_SHA256,
                    "digest_algorithm": DIGEST_SHA256,
                    "policy": {
                        "default": {"lifetime": self.lifetime, "name_form": NAME_FORMAT_URI}
                    },
                }
            },
        }
        if self.sp_metadata:
            description["metadata"] = {"inline": [self.sp_metadata]}
        conf = IdPConfig()
        conf.load(description)
        return conf

    def sign_metadata(self, key_name: str | None) -> None:
        """Publish the IdP's metadata signed with that key pair (a federation's), or
        unsigned."""
        descriptor = entity_descriptor(self.config("idp"))
        if key_name is not None:
            _, descriptor = sign_entity_descriptor(
                descriptor, None, security_context(self.config(key_name))
            )
        self.metadata_file.write_text(str(descriptor))

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/metadata"

    def trust(self, sp_metadata: str) -> None:
        """Know the portal as a service provider, from its metadata."""
        self.sp_metadata = sp_metadata

    def idp(self) -> Server:
        return Server(config=self.config(self.signing_key))

    def issue_expired_assertions(self) -> None:
        self.lifetime = {"minutes": -10}

    # --- HTTP -------------------------------------------------------------------------
    def app(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        self.requests.append(f"{method} {path}")
        query = {name: values[0] for name, values in parse_qs(environ["QUERY_STRING"]).items()}
        routes = {
            "/sso": self.single_sign_on,
            "/slo": self.single_logout_service,
            "/metadata": self.metadata,
        }
        route = routes.get(path)
        status, headers, body = route(query) if route else ("404 Not Found", [], b"")
        start_response(status, headers)
        return [body]

    def metadata(self, query: dict):
        body = self.metadata_file.read_bytes()
        return "200 OK", [("Content-Type", "application/samlmetadata+xml")], body

    def single_sign_on(self, query: dict):
        idp = self.idp()
        request = idp.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT).message
        self.authn_requests.append(request)
        answer = idp.response_args(request, [BINDING_HTTP_POST])
        response = idp.create_authn_response(
            self.users[self.user_id],
            userid=self.user_id,
            authn={"class_ref": AUTHN_PASSWORD, "authn_auth": self.entity_id},
            sign_assertion=self.signed,
            sign_response=False,
            **answer,
        )
        form = idp.apply_binding(
            BINDING_HTTP_POST,
            str(response),
            answer["destination"],
            query.get("RelayState", ""),
            response=True,
        )
        return "200 OK", [("Content-Type", "text/html")], form["data"].encode()

    def single_logout_service(self, query: dict):
        idp = self.idp()
        request = idp.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        self.logout_requests.append(request.message)
        response = idp.create_logout_response(request.message, [BINDING_HTTP_REDIRECT])
        back = idp.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(response),
            idp.response_args(request.message, [BINDING_HTTP_REDIRECT])["destination"],
            query.get("RelayState", ""),
            response=True,
        )
        return "302 Found", back["headers"], b""


class FormFields(HTMLParser):
    """The form's action and its fields, as a browser reads them."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.action = attributes.get("action")
        elif tag == "input" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")


def to_idp(client, start_url: str = "/saml2/login/", **params) -> dict:
    """The browser's first steps: the portal's sign-in start, then the IdP's sign-on,
    whose form posts the response to the portal. The form's fields."""
    start = client.get(start_url, params)
    assert start.status_code == 302, start
    answer = requests.get(start.url, allow_redirects=False, timeout=10)
    assert answer.status_code == 200, answer.text
    form = FormFields()
    form.feed(answer.text)
    assert urlsplit(form.action).path == ACS_PATH, form.action
    return form.fields


def back_to_portal(client, fields: dict, **replace):
    """The browser's last step: the form posted to the portal's ACS (with what `replace`
    puts in its fields' place; None leaves a field out)."""
    posted = {**fields, **replace}
    return client.post(
        ACS_PATH, {name: value for name, value in posted.items() if value is not None}
    )


def browser_sign_in(client, start_url: str = "/saml2/login/", **params):
    """The whole sign-in as a browser makes it; the portal's answer to the posted form."""
    return back_to_portal(client, to_idp(client, start_url, **params))


def follow_logout(client, response):
    """The browser at the IdP's single logout and back at the portal's logout service;
    the portal's answer."""
    assert response.status_code == 302, response
    answer = requests.get(response.url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})
