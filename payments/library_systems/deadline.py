"""A deadline for a whole HTTP call, not for each read of it.

requests' timeout bounds each wait on the socket: an answer that trickles in a byte at a
time resets it with every byte, so one call can last far longer than the timeout. Here the
connection of the call in progress is known to a watchdog, which shuts its socket down when
the deadline passes; the read blocked on it then ends at once, and the call fails.
"""

import contextvars
import functools
import heapq
import itertools
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
        self.ended = False
        self._sock = None
        self._lock = threading.Lock()

    def watch(self, sock) -> None:
        """From now on, `sock` is shut down when the deadline passes."""
        with self._lock:
            first, self._sock = self._sock is None, sock
        if first:
            WATCHDOG.add(self)

    @contextmanager
    def over(self, session: requests.Session, url: str):
        """Run one call of `session` to `url` against this deadline; `passed` tells after
        whether it was cut short."""
        if not isinstance(session.get_adapter(url), DeadlineAdapter):
            session.mount("http://", DeadlineAdapter())
            session.mount("https://", DeadlineAdapter())
        token = CURRENT.set(self)
        try:
            yield self
        finally:
            with self._lock:
                self.ended = True
            CURRENT.reset(token)

    def pass_now(self) -> None:
        with self._lock:
            if self.ended:
                return
            self.passed = True
            # Closed already, or a transport that cannot be shut: then its reads time out.
            with suppress(OSError, AttributeError):
                self._sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """One thread for all deadlines of the process (a thread per call would cost more
    than a call to a library system nearby), asleep until the earliest."""

    def __init__(self):
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            earliest = not self._heap or deadline.at < self._heap[0][0]
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(
                    target=self._run, name="library-system-deadlines", daemon=True
                )
                self._thread.start()
            elif earliest:
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                if not self._heap:
                    self._wake.wait()
                    continue
                at, _, deadline = self._heap[0]
                if deadline.ended:  # the call is over: most are, before their deadline
                    heapq.heappop(self._heap)
                elif (left := at - time.monotonic()) > 0:
                    self._wake.wait(left)
                else:
                    heapq.heappop(self._heap)
                    deadline.pass_now()


WATCHDOG = Watchdog()


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
