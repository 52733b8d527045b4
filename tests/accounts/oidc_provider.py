"""A real OpenID provider for the single sign-on tests: pyop behind a small HTTP server on
127.0.0.1, serving discovery, its JWKS, authorize (signing in one fixed test user without
asking), token, userinfo and end-session, with real RS256 ID tokens signed by a key of
its own. Tests make it misbehave: another nonce in the token, another key, a token that
has expired.

``with OpenIDProvider() as provider:``; `browser_sign_in` plays the browser's part."""

import functools
import json
from urllib.parse import parse_qsl, urlsplit

import requests
from Cryptodome.PublicKey import RSA
from jwkest.jwk import RSAKey
from pyop.authz_state import AuthorizationState
from pyop.exceptions import BearerTokenError, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo
from pyop.util import should_fragment_encode

from tests.accounts.local_server import LocalWSGIServer

CLIENT_ID = "epayment-portal"
CLIENT_SECRET = "portal-secret"
# The Django test client's host: where the portal's callback is.
REDIRECT_URI = "http://testserver/oidc/callback/"
KEY_ID = "provider-key-1"


@functools.cache
def signing_key(name: str = "provider") -> RSAKey:
    """An RSA key (made once per test run and name), always under the same key id: a key
    that is not the provider's looks like it but signs differently."""
    return RSAKey(key=RSA.generate(2048), kid=KEY_ID, alg="RS256", use="sig")


class OpenIDProvider(LocalWSGIServer):
    def __init__(self):
        super().__init__()
        self.users = {"erika": {"sub": "42", "preferred_username": "1000000042"}}
        self.user_id = "erika"  # whom the authorize endpoint signs in
        self.nonce = None  # put this nonce in the ID token instead of the portal's
        # pyop wants an https issuer; it is only a name (the portal checks the tokens'
        # `iss` against it), the endpoints are plain HTTP on 127.0.0.1.
        self.issuer = f"https://127.0.0.1:{self.server.server_port}"
        self.provider = Provider(
            signing_key(),
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "jwks_uri": f"{self.url}/jwks",
                "end_session_endpoint": f"{self.url}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            },
            AuthorizationState(HashBasedSubjectIdentifierFactory("test-salt")),
            {
                CLIENT_ID: {
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [REDIRECT_URI],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "client_secret_post",
                }
            },
            Userinfo(self.users),
        )
        # The keys it publishes: the one it signs with, unless a test swaps that.
        self.jwks = self.provider.jwks
        self.authorizations: list[dict] = []  # the authentication requests, as parsed

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def sign_with(self, key: RSAKey) -> None:
        """Sign the ID tokens with `key`, still publishing the provider's own."""
        self.provider.signing_key = key

    def issue_expired_tokens(self) -> None:
        self.provider.id_token_lifetime = -600

    # --- HTTP -------------------------------------------------------------------------
    def app(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        self.requests.append(f"{method} {path}")
        query = environ.get("QUERY_STRING", "")
        body = b""
        if method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {"Authorization": environ.get("HTTP_AUTHORIZATION")}
        headers = {name: value for name, value in headers.items() if value}
        routes = {
            "/.well-known/openid-configuration": lambda: (
                200,
                self.provider.provider_configuration.to_dict(),
            ),
            "/jwks": lambda: (200, self.jwks),
            "/authorize": lambda: self.authorize(query),
            "/token": lambda: self.token(body.decode(), headers),
            "/userinfo": lambda: self.userinfo(query, headers),
            "/logout": lambda: (200, {"logged_out": True}),
        }
        route = routes.get(path)
        status, answer = route() if route else (404, {"error": "not_found"})
        if status == 302:
            start_response("302 Found", [("Location", answer)])
            return [b""]
        start_response(
            f"{status} {'OK' if status == 200 else 'Error'}",
            [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        )
        return [json.dumps(answer).encode()]

    def authorize(self, query: str):
        try:
            request = self.provider.parse_authentication_request(query)
        except OAuthError as error:
            return 400, {"error": error.oauth_error, "error_description": str(error)}
        self.authorizations.append(request.to_dict())
        if self.nonce is not None:
            request["nonce"] = self.nonce
        response = self.provider.authorize(request, self.user_id)
        return 302, response.request(request["redirect_uri"], should_fragment_encode(request))

    def token(self, body: str, headers: dict):
        try:
            return 200, self.provider.handle_token_request(body, headers).to_dict()
        except OAuthError as error:
            return 400, {"error": error.oauth_error, "error_description": str(error)}

    def userinfo(self, query: str, headers: dict):
        try:
            return 200, self.provider.handle_userinfo_request(query, headers).to_dict()
        except (OAuthError, BearerTokenError) as error:
            return 401, {"error": "invalid_token", "error_description": str(error)}


def to_provider(client, start_url: str, **params):
    """The browser's first steps: the portal's sign-in start, then the provider's
    authorize endpoint. The portal's callback address the provider sends it back to."""
    start = client.get(start_url, params)
    assert start.status_code == 302, start
    answer = requests.get(start.url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def back_to_portal(client, callback_url: str, **replace):
    """The browser's last step: the portal's callback, with the provider's code and
    state (or what `replace` puts in their place)."""
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI
    return client.get(parts.path, {**dict(parse_qsl(parts.query)), **replace})


def browser_sign_in(client, start_url: str = "/oidc/authenticate/", **params):
    """The whole sign-in as a browser makes it; the portal's answer to the callback."""
    return back_to_portal(client, to_provider(client, start_url, **params))
