"""A deadline for a whole HTTP call, not for each read of it.

requests' timeout bounds each wait on the socket: an answer that trickles in a byte at a
time resets it with every byte, so one call can last far longer than the timeout. Here the
connection of the call in progress is known to a watchdog, which shuts its socket down when
the deadline passes; the read blocked on it then ends at once, and the call fails.
"""

import contextvars
import functools
import socket
import threading
import time
from contextlib import contextmanager, suppress

import requests
from requests.adapters import HTTPAdapter

# The deadline of the call this thread is making (contextvars: one per thread).
CURRENT = contextvars.ContextVar("library_system_deadline", default=None)


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.passed = False
        self._done = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def watch(self, sock) -> None:
        """From now on, `sock` is shut down when the deadline passes."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(max(0.0, self.at - time.monotonic()), self._pass, [sock])
            self._timer.daemon = True
            self._timer.start()

    def end(self) -> None:
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()

    def _pass(self, sock) -> None:
        with self._lock:
            if self._done:
                return
            self.passed = True
            # Closed already, or a transport that cannot be shut: then its reads time out.
            with suppress(OSError, AttributeError):
                sock.shutdown(socket.SHUT_RDWR)


class WatchedConnection:
    """Mixed into urllib3's connection classes: hands the socket to the current deadline
    once the request is sent, before the answer's headers are read."""

    def getresponse(self, *args, **kwargs):
        deadline = CURRENT.get()
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().getresponse(*args, **kwargs)


@functools.cache
def watched(connection_class: type) -> type:
    return type(f"Watched{connection_class.__name__}", (WatchedConnection, connection_class), {})


class DeadlineAdapter(HTTPAdapter):
    """requests' transport, with connections a Deadline can watch (proxied ones too)."""

    def get_connection_with_tls_context(self, *args, **kwargs):
        pool = super().get_connection_with_tls_context(*args, **kwargs)
        if not issubclass(pool.ConnectionCls, WatchedConnection):
            pool.ConnectionCls = watched(pool.ConnectionCls)
        return pool


@contextmanager
def within(seconds: float, session: requests.Session, url: str):
    """Run one call of `session` to `url` against a deadline `seconds` from now; the
    Deadline tells afterwards whether it passed."""
    if not isinstance(session.get_adapter(url), DeadlineAdapter):
        session.mount("http://", DeadlineAdapter())
        session.mount("https://", DeadlineAdapter())
    deadline = Deadline(seconds)
    token = CURRENT.set(deadline)
    try:
        yield deadline
    finally:
        deadline.end()
        CURRENT.reset(token)
