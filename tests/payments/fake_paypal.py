"""A local stand-in for PayPal's REST API (Orders v2, Payments v2, OAuth), over real HTTP.

Built on tests.library_systems.fake_server: every request the SDK sends, and every JSON
answer given here, is checked against PayPal's own OpenAPI descriptions in paypal/specs/
(OAuth, the approval page and the certificate are described in none of them and are
checked by hand). It keeps orders, captures and refunds in memory, honours
PayPal-Request-Id as PayPal does (the same request id answers the same resource, 200
instead of 201), serves an approval page, and the certificate webhooks are signed with.
"""

import base64
import datetime
import secrets
import threading
from pathlib import Path

from tests.library_systems.fake_server import FakeServer, Reply, Request
from tests.library_systems.openapi3 import OpenApi3Check
from tests.payments.paypal.pages import approval_page, approve_from_page

SPECS = Path(__file__).parent / "paypal" / "specs"
CLIENT_ID = "AZfake-client-id"
CLIENT_SECRET = "EFfake-client-secret"
CERT_PATH = "/v1/notifications/certs/CERT-360caa42-fca2a594-fake"
API = "/v1/", "/v2/"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def paypal_id(length: int = 17) -> str:
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _not_described(request: Request) -> bool:
    return request.path in ("/v1/oauth2/token", CERT_PATH) or not request.path.startswith(API)


# PayPal's error names and messages by status, as its descriptions fix them.
ERRORS = {
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication "
        "credentials.",
    ),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed "
        "business validation.",
    ),
}


def _error(status: int, issue: str, description: str) -> Reply:
    name, message = ERRORS[status]
    return Reply(
        status,
        {
            "name": name,
            "message": message,
            "debug_id": secrets.token_hex(6),
            "details": [{"issue": issue, "description": description}],
        },
    )


class FakePayPal:
    """``with FakePayPal() as paypal:``; ``paypal.url`` is its base URL."""

    def __init__(self):
        self.server = FakeServer(
            OpenApi3Check(*sorted(SPECS.glob("*.json")), unchecked=_not_described)
        )
        self.orders: dict[str, dict] = {}
        self.captures: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.by_request_id: dict[tuple[str, str], str] = {}
        self.capture_outcome = "COMPLETED"  # or PENDING, DECLINED
        self.refund_outcome = "COMPLETED"  # or PENDING, FAILED
        self.certificate_pem = ""
        # The REST apps whose client id and secret get a token (one per merchant account).
        self.credentials = {CLIENT_ID: CLIENT_SECRET}
        self.lock = threading.RLock()
        routes = [
            ("POST", "/v1/oauth2/token", self._token),
            ("POST", "/v2/checkout/orders", self._create_order),
            ("GET", r"/v2/checkout/orders/[^/]+", self._get_order),
            ("POST", r"/v2/checkout/orders/[^/]+/capture", self._capture),
            ("GET", r"/v2/payments/captures/[^/]+", self._get_capture),
            ("POST", r"/v2/payments/captures/[^/]+/refund", self._refund),
            ("GET", r"/v2/payments/refunds/[^/]+", self._get_refund),
            ("GET", "/checkoutnow", lambda request: approval_page(self, request)),
            ("POST", "/checkoutnow", lambda request: approve_from_page(self, request)),
            ("GET", CERT_PATH, lambda request: Reply(200, self.certificate_pem)),
        ]
        for method, path, responder in routes:
            self.server.route(method, path, responder)

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def cert_url(self) -> str:
        return self.url + CERT_PATH

    @property
    def violations(self) -> list[str]:
        return self.server.violations

    def sent(self, method=None, path=None) -> list[Request]:
        return self.server.sent(method, path)

    # --- what tests do at PayPal ---------------------------------------------------------

    def order_for(self, reference: str) -> dict:
        return next(
            o for o in self.orders.values() if o["purchase_units"][0].get("custom_id") == reference
        )

    def approve(self, order_id: str) -> dict:
        """The patron logs in at PayPal and approves the payment."""
        with self.lock:
            order = self.orders[order_id]
            if order["status"] == "CREATED":
                order["status"] = "APPROVED"
                order["payer"] = {"payer_id": paypal_id(13), "email_address": "buyer@example.com"}
            return order

    def set_capture_status(self, capture_id: str, status: str) -> dict:
        with self.lock:
            capture = self.captures[capture_id]
            capture["status"] = status
            capture.pop("status_details", None)
            capture["update_time"] = _now()
            return capture

    def capture_of(self, order_id: str) -> dict:
        return self.orders[order_id]["purchase_units"][0]["payments"]["captures"][0]

    # --- the API ---------------------------------------------------------------------

    def _token(self, request: Request) -> Reply:
        accepted = {
            "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()
            for client, secret in self.credentials.items()
        }
        if request.headers.get("authorization") not in accepted:
            return Reply(401, {"error": "invalid_client", "error_description": "Bad client"})
        if request.form().get("grant_type") != ["client_credentials"]:
            return Reply(400, {"error": "unsupported_grant_type"})
        return Reply(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": "A21AAfake" + secrets.token_hex(8),
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": 32400,
                "nonce": _now() + secrets.token_hex(4),
            },
        )

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Bearer A21AAfake")

    def _repeat(self, request: Request, kind: str):
        key = request.headers.get("paypal-request-id")
        return key, self.by_request_id.get((kind, key)) if key else None

    def _create_order(self, request: Request) -> Reply:
        if not self._authorized(request):
            return _error(401, "INVALID_TOKEN", "No token")
        with self.lock:
            key, earlier = self._repeat(request, "order")
            if earlier:
                return Reply(200, self.orders[earlier])
            body = request.json()
            order_id = paypal_id()
            unit = dict(body["purchase_units"][0])
            unit.setdefault("reference_id", "default")
            unit["payee"] = {"merchant_id": "7KNGBPH2U58GQ", "email_address": "library@example.com"}
            context = (
                (body.get("payment_source") or {}).get("paypal", {}).get("experience_context", {})
            )
            order = {
                "id": order_id,
                "intent": body["intent"],
                "status": "CREATED",
                "purchase_units": [unit],
                "create_time": _now(),
                "links": [
                    {
                        "href": f"{self.url}/v2/checkout/orders/{order_id}",
                        "rel": "self",
                        "method": "GET",
                    },
                    {
                        "href": f"{self.url}/checkoutnow?token={order_id}",
                        "rel": "payer-action",
                        "method": "GET",
                    },
                ],
            }
            order["_context"] = context
            self.orders[order_id] = order
            if key:
                self.by_request_id["order", key] = order_id
            return Reply(200, self._public(order))

    @staticmethod
    def _public(order: dict) -> dict:
        return {name: value for name, value in order.items() if not name.startswith("_")}

    def _get_order(self, request: Request) -> Reply:
        order = self.orders.get(request.path.rsplit("/", 1)[-1])
        if order is None:
            return _error(404, "INVALID_RESOURCE_ID", "No such order")
        return Reply(200, self._public(order))

    def _capture(self, request: Request) -> Reply:
        order_id = request.path.split("/")[-2]
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return _error(404, "INVALID_RESOURCE_ID", "No such order")
            key, earlier = self._repeat(request, "capture")
            if earlier:
                return Reply(200, self._public(order))
            if order["status"] == "COMPLETED":
                return _error(422, "ORDER_ALREADY_CAPTURED", "Captured")
            if order["status"] != "APPROVED":
                return _error(422, "ORDER_NOT_APPROVED", "Not approved")
            unit = order["purchase_units"][0]
            capture = {
                "id": paypal_id(),
                "status": self.capture_outcome,
                "amount": {
                    "currency_code": unit["amount"]["currency_code"],
                    "value": unit["amount"]["value"],
                },
                "final_capture": True,
                "invoice_id": unit.get("invoice_id", ""),
                "custom_id": unit.get("custom_id", ""),
                "create_time": _now(),
                "update_time": _now(),
                "supplementary_data": {"related_ids": {"order_id": order_id}},
                "links": [
                    {
                        "href": f"{self.url}/v2/checkout/orders/{order_id}",
                        "rel": "up",
                        "method": "GET",
                    }
                ],
            }
            if self.capture_outcome == "PENDING":
                capture["status_details"] = {"reason": "PENDING_REVIEW"}
            self.captures[capture["id"]] = capture
            unit["payments"] = {"captures": [capture]}
            order["status"] = "COMPLETED"
            if key:
                self.by_request_id["capture", key] = order_id
            return Reply(201, self._public(order))

    def _get_capture(self, request: Request) -> Reply:
        capture = self.captures.get(request.path.rsplit("/", 1)[-1])
        if capture is None:
            return _error(404, "INVALID_RESOURCE_ID", "No such capture")
        return Reply(200, capture)

    def _refund(self, request: Request) -> Reply:
        capture_id = request.path.split("/")[-2]
        with self.lock:
            capture = self.captures.get(capture_id)
            if capture is None:
                return _error(404, "INVALID_RESOURCE_ID", "No such capture")
            key, earlier = self._repeat(request, "refund")
            if earlier:
                # The same refund again; PayPal's description has only 201 for this call.
                return Reply(201, self.refund_answer(earlier))
            body = request.json() if request.body else {}
            captured = _cents(capture["amount"]["value"])
            taken = sum(
                _cents(r["amount"]["value"])
                for r in self.refunds.values()
                if r["_capture"] == capture_id and r["status"] != "FAILED"
            )
            amount = body.get("amount") or {
                "currency_code": capture["amount"]["currency_code"],
                "value": f"{(captured - taken) / 100:.2f}",
            }
            if _cents(amount["value"]) > captured - taken:
                return _error(
                    422,
                    "REFUND_AMOUNT_EXCEEDED",
                    "The refund amount must be less than or equal to the capture amount that "
                    "has not yet been refunded.",
                )
            refund = {
                "id": paypal_id(),
                "status": self.refund_outcome,
                "amount": amount,
                "invoice_id": body.get("invoice_id", capture.get("invoice_id", "")),
                "custom_id": body.get("custom_id", ""),
                "create_time": _now(),
                "update_time": _now(),
                "links": [
                    {
                        "href": f"{self.url}/v2/payments/captures/{capture_id}",
                        "rel": "up",
                        "method": "GET",
                    }
                ],
                "_capture": capture_id,
            }
            if not refund["invoice_id"]:
                del refund["invoice_id"]
            self.refunds[refund["id"]] = refund
            if key:
                self.by_request_id["refund", key] = refund["id"]
            left = captured - taken - _cents(amount["value"])
            capture["status"] = "REFUNDED" if left == 0 else "PARTIALLY_REFUNDED"
            return Reply(201, self.refund_answer(refund["id"]))

    def refund_answer(self, refund_id: str) -> dict:
        return self._public(self.refunds[refund_id])

    def _get_refund(self, request: Request) -> Reply:
        refund_id = request.path.rsplit("/", 1)[-1]
        if refund_id not in self.refunds:
            return _error(404, "INVALID_RESOURCE_ID", "No such refund")
        return Reply(200, self.refund_answer(refund_id))


def _cents(value: str) -> int:
    whole, _, fraction = value.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])
