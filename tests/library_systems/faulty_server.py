"""A webhook receiver on 127.0.0.1 that misbehaves as told, one fault per request, the way a
library system (or a proxy before it) can; the requests after the scripted faults are
answered 200.

It checks the signature and books each idempotency key once (`accepted`, in the order
booked), counts every request per key (`tries`) and per fault (`faults_seen`), and keeps
any request to another path, such as a redirect followed, in `strays`. Where a fault
loses the answer after the booking (cut off, trickled), a retry finds the key booked.
"""

import json
import os
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.library_systems.receiver import SECRET, signature_valid

REDIRECTS = ("301", "302", "303", "307", "308")
# Faults where the library system books the movement and its answer is then lost.
AFTER_BOOKING = ("cut_off", "broken_chunks", "bad_gzip", "trickle", "trickle_headers")
BEFORE_BOOKING = ("reset", "500", *REDIRECTS)
FAULTS = (*AFTER_BOOKING, *BEFORE_BOOKING)


class FaultyReceiver:
    def __init__(self, faults=(), *, trickle_every: float = 0.1, trickle_bytes: int = 20):
        unknown = set(faults) - {*FAULTS, "ok"}
        assert not unknown, f"no such fault: {unknown}"
        self.faults = list(faults)
        self.trickle_every = trickle_every
        self.trickle_bytes = trickle_bytes
        self.accepted: list[str] = []
        self.booked: dict[str, dict] = {}
        self.tries: Counter = Counter()
        self.faults_seen: Counter = Counter()
        self.strays: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                receiver.handle(self)

            do_GET = do_PUT = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/epayment"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if handler.path != "/epayment" or handler.command != "POST":
            with self.lock:
                self.strays.append(f"{handler.command} {handler.path}")
            answer(handler, 200, {"status": "taken"})  # what would fool a follower
            return
        if not signature_valid(SECRET.encode(), body, handler.headers["X-Epayment-Signature"]):
            answer(handler, 401, {"error": "bad signature"})
            return
        movement = json.loads(body)
        with self.lock:
            fault = self.faults.pop(0) if self.faults else "ok"
            self.tries[movement["key"]] += 1
            self.faults_seen[fault] += 1
            if fault in ("ok", *AFTER_BOOKING) and movement["key"] not in self.booked:
                self.booked[movement["key"]] = movement
                self.accepted.append(movement["key"])
        misbehave = getattr(self, f"_{fault}", None)
        if misbehave is not None:
            misbehave(handler)
        elif fault == "ok":
            answer(handler, 200, {"status": "booked"})
        elif fault == "500":
            answer(handler, 500, {"error": "down for maintenance"})
        elif fault in REDIRECTS:
            answer(handler, int(fault), {}, Location=f"{self.base}/moved")

    def _cut_off(self, handler):
        raw(handler, b'HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n{"status": "boo')

    def _broken_chunks(self, handler):
        raw(handler, b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{"stat')

    def _bad_gzip(self, handler):
        body = b'{"status": "booked"} is not gzip'
        raw(handler, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)  # fmt: skip

    def _trickle(self, handler):
        body = b"x" * self.trickle_bytes
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        raw(handler, head)
        raw(handler, body, every=self.trickle_every)

    def _trickle_headers(self, handler):
        head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * self.trickle_bytes + b"\r\n"
        raw(handler, head + b"Content-Length: 2\r\n\r\n{}", every=self.trickle_every)

    def _reset(self, handler):
        # Linger 0: closing sends RST at once, no answer and no orderly end.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(handler.connection.detach())
        handler.close_connection = True


def answer(handler, status: int, body: dict, **headers):
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def raw(handler, data: bytes, every: float = 0.0):
    """Bytes as they are on the wire, one at a time `every` seconds if given; the
    connection is closed after the handler returns. A client that hangs up ends it."""
    handler.close_connection = True
    try:
        if not every:
            handler.wfile.write(data)
            return
        for index in range(len(data)):
            handler.wfile.write(data[index : index + 1])
            time.sleep(every)
    except OSError:
        pass
