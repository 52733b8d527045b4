"""A library system's webhook receiver, as the README tells a library's IT to build one:
it checks the signature, keeps each idempotency key once, and answers as scripted."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "library-system-secret"


def signature_valid(secret: bytes, body: bytes, header: str) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp = int(parts.get("t", "0"))
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - timestamp) < 300
    return fresh and hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


class Receiver:
    def __init__(self, secret: str = SECRET):
        self.secret = secret.encode()
        self.received: list[dict] = []  # every valid delivery, repeats included
        self.by_key: dict[str, dict] = {}  # what it booked: once per key
        self.script: list[int] = []  # statuses to answer next; then 200
        self.hang_seconds = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/epayment"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def verify(self, body: bytes, header: str) -> bool:
        return signature_valid(self.secret, body, header)

    def _handle(self, handler):
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if self.hang_seconds:
            time.sleep(self.hang_seconds)
        with self.lock:
            status = self.script.pop(0) if self.script else 200
            if status == 200 and not self.verify(body, handler.headers["X-Epayment-Signature"]):
                status = 401
            if status == 200:
                movement = json.loads(body)
                assert movement["key"] == handler.headers["Idempotency-Key"]
                self.received.append(movement)
                self.by_key.setdefault(movement["key"], movement)
        answer = json.dumps({"status": status}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)
