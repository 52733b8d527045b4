"""A local stand-in for Stripe's API, served over real HTTP on 127.0.0.1.

stripe-python talks to it through its normal HTTP client (requests), so the
portal's Stripe code runs unchanged. It keeps Checkout Sessions in memory,
honours idempotency keys, and can be told to answer 500, hang, or vanish.
"""

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import stripe


def _nested(form: dict[str, str]) -> dict:
    """'line_items[0][price_data][unit_amount]' style keys back into a tree (lists as dicts)."""
    tree: dict = {}
    for key, value in form.items():
        parts = key.replace("]", "").split("[")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def checkout_session(**overrides) -> dict:
    """A Checkout Session as Stripe's API returns it (abridged to the fields that matter)."""
    session_id = overrides.pop("id", f"cs_test_{secrets.token_hex(12)}")
    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": 500,
        "amount_total": 500,
        "client_reference_id": None,
        "created": int(time.time()),
        "currency": "eur",
        "customer_email": None,
        "expires_at": int(time.time()) + 1800,
        "livemode": False,
        "metadata": {},
        "mode": "payment",
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "success_url": "https://portal.example/orders/x/?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://portal.example/orders/x/",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
    }
    session.update(overrides)
    return session


class FakeStripe:
    def __init__(self):
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        # What Stripe answers a new refund with: succeeded, pending or failed.
        self.refund_outcome = "succeeded"
        self.requests: list[dict] = []
        self.by_idempotency_key: dict[str, str] = {}
        self.failure: str | None = None  # "500", "hang"
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # --- what tests set up and look at -------------------------------------------------

    def add_session(self, **fields) -> dict:
        session = checkout_session(**fields)
        self.sessions[session["id"]] = session
        return session

    def session_for(self, reference: str) -> dict:
        return next(s for s in self.sessions.values() if s["client_reference_id"] == reference)

    def complete(self, session_id: str, *, paid=True, amount=None, payment_intent=None) -> dict:
        session = self.sessions[session_id]
        session.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            payment_intent=payment_intent or f"pi_{secrets.token_hex(12)}",
        )
        # Checkout copies payment_intent_data.metadata onto the PaymentIntent it makes.
        self.payment_intents[session["payment_intent"]] = {
            "id": session["payment_intent"],
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "status": "succeeded" if paid else "processing",
            "metadata": session.get("_payment_intent_metadata", {}),
        }
        if amount is not None:
            session["amount_total"] = amount
        return session

    def set_refund_status(self, refund_id: str, status: str) -> dict:
        refund = self.refunds[refund_id]
        refund["status"] = status
        refund["failure_reason"] = "expired_or_canceled_card" if status == "failed" else None
        return dict(refund)

    def refunds_of(self, payment_intent: str) -> list[dict]:
        return [r for r in self.refunds.values() if r["payment_intent"] == payment_intent]

    def charge(self, payment_intent: str) -> dict:
        """The intent's charge as a charge.refunded event carries it (no list of refunds)."""
        intent = self.payment_intents[payment_intent]
        refunded = sum(
            r["amount"] for r in self.refunds_of(payment_intent) if r["status"] == "succeeded"
        )
        return {
            "id": f"ch_{payment_intent[3:]}",
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": refunded,
            "currency": intent["currency"],
            "payment_intent": payment_intent,
            "refunded": refunded == intent["amount"],
            "status": "succeeded",
        }

    def _create_refund(self, form, headers):
        key = headers.get("Idempotency-Key")
        if key in self.by_idempotency_key:
            return 200, self.refunds[self.by_idempotency_key[key]]
        params = _nested(form)
        intent = self.payment_intents.get(params.get("payment_intent", ""))
        if intent is None:
            return 400, _missing("payment_intent", params.get("payment_intent", ""))
        taken = sum(
            r["amount"]
            for r in self.refunds_of(intent["id"])
            if r["status"] not in ("failed", "canceled")
        )
        amount = int(params.get("amount", intent["amount"] - taken))
        if amount > intent["amount"] - taken:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "amount_too_large",
                    "message": f"Refund amount ({amount}) is greater than unrefunded amount "
                    f"on charge ({intent['amount'] - taken})",
                }
            }
        refund = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "charge": f"ch_{intent['id'][3:]}",
            "payment_intent": intent["id"],
            "created": int(time.time()),
            "metadata": params.get("metadata", {}),
            "reason": params.get("reason"),
            "status": self.refund_outcome,
            "failure_reason": None,
        }
        if self.refund_outcome == "failed":
            refund["failure_reason"] = "expired_or_canceled_card"
        self.refunds[refund["id"]] = refund
        self.by_idempotency_key[key] = refund["id"]
        return 200, refund

    # --- the HTTP side ----------------------------------------------------------------

    def _handle(self, handler, method):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        path, _, query = handler.path.partition("?")
        form = dict(parse_qsl(body or query, keep_blank_values=True))
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "form": form, "headers": dict(handler.headers)}
            )
        if self.failure == "hang":
            time.sleep(5)
            return
        if self.failure == "500":
            return self._send(handler, 500, {"error": {"type": "api_error", "message": "Boom"}})
        status, payload = self._route(method, path, form, handler.headers)
        self._send(handler, status, payload)

    def _route(self, method, path, form, headers):
        parts = path.strip("/").split("/")
        with self.lock:
            if method == "POST" and parts == ["v1", "checkout", "sessions"]:
                key = headers.get("Idempotency-Key")
                if key in self.by_idempotency_key:
                    return 200, self.sessions[self.by_idempotency_key[key]]
                params = _nested(form)
                items = list(params["line_items"].values())
                total = sum(
                    int(item["price_data"]["unit_amount"]) * int(item["quantity"]) for item in items
                )
                session = self.add_session(
                    amount_total=total,
                    amount_subtotal=total,
                    currency=items[0]["price_data"]["currency"],
                    client_reference_id=params.get("client_reference_id"),
                    metadata=params.get("metadata", {}),
                    expires_at=int(params["expires_at"]),
                    success_url=params["success_url"],
                    cancel_url=params["cancel_url"],
                    customer_email=params.get("customer_email"),
                    _payment_intent_metadata=params.get("payment_intent_data", {}).get(
                        "metadata", {}
                    ),
                )
                self.by_idempotency_key[key] = session["id"]
                return 200, session
            if method == "POST" and parts == ["v1", "refunds"]:
                return self._create_refund(form, headers)
            if method == "GET" and parts == ["v1", "refunds"]:
                found = self.refunds_of(form.get("payment_intent", ""))
                return 200, {"object": "list", "data": found, "has_more": False, "url": path}
            if method == "GET" and parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
                intent = self.payment_intents.get(parts[2])
                if intent is None:
                    return 404, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": f"No such payment_intent: '{parts[2]}'",
                        }
                    }
                return 200, intent
            if len(parts) >= 4 and parts[:3] == ["v1", "checkout", "sessions"]:
                session = self.sessions.get(parts[3])
                if session is None:
                    return 404, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": f"No such checkout.session: '{parts[3]}'",
                        }
                    }
                if method == "POST" and parts[4:] == ["expire"]:
                    if session["status"] != "open":
                        return 400, {
                            "error": {"type": "invalid_request_error", "message": "Not open"}
                        }
                    session["status"] = "expired"
                if method == "GET" and "payment_intent.payment_method" in form.values():
                    session = dict(session)
                    if session["payment_intent"]:
                        session["payment_intent"] = {
                            "id": session["payment_intent"],
                            "object": "payment_intent",
                            "payment_method": {
                                "id": "pm_123",
                                "object": "payment_method",
                                "type": "card",
                            },
                        }
                return 200, session
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unknown path {path}"}}

    def _send(self, handler, status, payload):
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
        handler.end_headers()
        handler.wfile.write(body)


def _missing(kind: str, object_id: str) -> dict:
    return {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such {kind}: '{object_id}'",
        }
    }


def event(event_type: str, data_object: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def signed(payload: dict, secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode(), header


def dispute(payment_intent: str, amount: int = 500) -> dict:
    return {
        "id": f"dp_{secrets.token_hex(12)}",
        "object": "dispute",
        "amount": amount,
        "currency": "eur",
        "charge": f"ch_{secrets.token_hex(12)}",
        "payment_intent": payment_intent,
        "reason": "insufficient_funds",
        "status": "needs_response",
    }
