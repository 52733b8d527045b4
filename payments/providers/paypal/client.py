"""PayPal's REST API through its official SDK (paypal-server-sdk).

Bodies go to the SDK as JSON text and answers come back as PayPal's JSON: the portal
reads PayPal's documented field names, and the tests check exactly these against
PayPal's OpenAPI descriptions, without the SDK's models renaming or dropping a field in
between. Every failure to reach PayPal, or a refusal, is a PayPalRefusal or ProviderError.
"""

import hashlib
import json
import threading

import requests
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from payments.providers.base import ProviderError

ENVIRONMENTS = {"sandbox": Environment.SANDBOX, "live": Environment.PRODUCTION}

# Access tokens by REST app, kept across requests: a provider is made for each request,
# and PayPal's tokens last hours (the SDK fetches a new one when one expires).
_tokens: dict[tuple, object] = {}
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop the kept access tokens (a PayPal app's secret changed, or a test's fake)."""
    with _tokens_lock:
        _tokens.clear()


def _token_key(environment: str, api_base: str, client_id: str, client_secret: str) -> tuple:
    return environment, api_base, client_id, hashlib.sha256(client_secret.encode()).hexdigest()


class _Configuration(Configuration):
    """The SDK's configuration, sent to another base address (the tests' fake PayPal)."""

    api_base = ""

    def get_base_uri(self, server=Server.DEFAULT):
        return self.api_base or super().get_base_uri(server)

    def clone_with(self, **overrides):
        clone = super().clone_with(**overrides)
        clone.__class__ = _Configuration
        clone.api_base = self.api_base
        return clone


class PayPalRefusal(ProviderError):
    """PayPal answered, and said no: its HTTP status and the issues it named."""

    def __init__(self, *, status: int, issues: list[str], message: str = ""):
        super().__init__(f"PayPal refused ({status}): {', '.join(issues) or message}")
        self.status = status
        self.issues = issues
        self.message = message


class PayPalClient:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        environment: str,
        api_base: str = "",
        timeout_seconds: float = 20,
    ):
        key = _token_key(environment, api_base, client_id, client_secret)
        with _tokens_lock:
            token = _tokens.get(key)

        def keep(new_token):
            with _tokens_lock:
                _tokens[key] = new_token

        config = _Configuration(
            timeout=timeout_seconds,
            max_retries=1,
            environment=ENVIRONMENTS[environment],
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id,
                o_auth_client_secret=client_secret,
                o_auth_token=token,
                o_auth_on_token_update=keep,
            ),
        )
        config.api_base = api_base
        self.sdk = PaypalServersdkClient(config=config)

    def _call(self, method, options: dict) -> dict:
        try:
            response = method(options)
        except ApiException as error:
            raise _refusal(error) from error
        except requests.RequestException as error:
            raise ProviderError(f"PayPal cannot be reached: {error}") from error
        except AuthValidationException as error:  # no token: unreachable, or refused us
            raise ProviderError(f"PayPal gave no access token: {error}") from error
        except ValueError as error:  # an answer that is not JSON
            raise ProviderError(f"PayPal's answer could not be read: {error}") from error
        return json.loads(response.text) if response.text else {}

    def create_order(self, body: dict, *, request_id: str) -> dict:
        return self._call(
            self.sdk.orders.create_order,
            {
                "body": json.dumps(body),
                "paypal_request_id": request_id,
                "prefer": "return=representation",
            },
        )

    def get_order(self, order_id: str) -> dict:
        return self._call(self.sdk.orders.get_order, {"id": order_id})

    def capture_order(self, order_id: str, *, request_id: str) -> dict:
        # The same request id answers the same capture: asking twice never captures twice.
        return self._call(
            self.sdk.orders.capture_order,
            {"id": order_id, "paypal_request_id": request_id, "prefer": "return=representation"},
        )

    def get_capture(self, capture_id: str) -> dict:
        return self._call(self.sdk.payments.get_captured_payment, {"capture_id": capture_id})

    def refund_capture(self, capture_id: str, body: dict, *, request_id: str) -> dict:
        return self._call(
            self.sdk.payments.refund_captured_payment,
            {
                "capture_id": capture_id,
                "body": json.dumps(body),
                "paypal_request_id": request_id,
                "prefer": "return=representation",
            },
        )

    def get_refund(self, refund_id: str) -> dict:
        return self._call(self.sdk.payments.get_refund, {"refund_id": refund_id})


def _refusal(error: ApiException) -> ProviderError:
    status = error.response_code
    if status >= 500 or status in (401, 403, 408, 429):
        # PayPal's trouble, or our credentials': asking again later may work.
        return ProviderError(f"PayPal answered {status}: {error.reason}")
    try:
        answer = json.loads(error.response.text or "{}")
    except ValueError:
        answer = {}
    issues = [detail.get("issue", "") for detail in answer.get("details") or []]
    return PayPalRefusal(status=status, issues=issues, message=answer.get("message", ""))
