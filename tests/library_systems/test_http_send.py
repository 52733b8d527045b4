"""The one HTTP call every adapter makes: whatever the library system's side does to it, the
call ends within its timeout, as a transient error to retry or a permanent one for staff."""

import http.client
import threading
import time

import pytest
import requests
import urllib3

from payments.library_systems.base import PermanentError, TransientError, http_send
from payments.library_systems.webhook import WebhookTarget
from tests.library_systems.faulty_server import REDIRECTS, FaultyReceiver
from tests.library_systems.movements import payment
from tests.library_systems.receiver import SECRET

MOVEMENT = payment("P-1", (("F-1", "LOST"), ("F-2", "FINE")))
TIMEOUT = 0.5


def deliver_against(*faults, timeout=TIMEOUT):
    """Deliver MOVEMENT once to a receiver misbehaving with `faults`: what was raised,
    the seconds it took, and the receiver."""
    with FaultyReceiver(faults) as receiver:
        target = WebhookTarget(url=receiver.url, secret=SECRET, timeout=timeout)
        started = time.monotonic()
        with pytest.raises((TransientError, PermanentError)) as raised:
            target.deliver(MOVEMENT)
        return raised.value, time.monotonic() - started, receiver


@pytest.mark.parametrize("fault", ["cut_off", "broken_chunks", "bad_gzip", "reset"])
def test_an_answer_cut_off_or_spoilt_is_a_transient_error(fault):
    error, _seconds, receiver = deliver_against(fault)

    assert isinstance(error, TransientError)
    assert receiver.faults_seen == {fault: 1}


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ChunkedEncodingError("Connection broken"),
        requests.exceptions.ContentDecodingError("not gzip"),
        requests.exceptions.InvalidHeader("bad header"),
        requests.RequestException("anything else"),
        urllib3.exceptions.ProtocolError("Connection aborted."),
        http.client.IncompleteRead(b"{"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=lambda error: error.__class__.__name__,
)
def test_every_transport_error_is_a_transient_error(monkeypatch, error):
    session = requests.Session()

    def fails(*args, **kwargs):
        raise error

    monkeypatch.setattr(session, "request", fails)

    with pytest.raises(TransientError, match=error.__class__.__name__):
        http_send(session, "POST", "http://127.0.0.1:9/epayment", timeout=TIMEOUT)


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirect_is_not_followed_and_refused_with_its_location(status):
    error, _seconds, receiver = deliver_against(status)

    assert isinstance(error, PermanentError)
    assert f"answered {status}" in str(error) and f"{receiver.base}/moved" in str(error)
    assert receiver.strays == [] and receiver.accepted == []


@pytest.mark.parametrize("fault", ["trickle", "trickle_headers"])
def test_an_answer_trickling_past_the_timeout_ends_at_the_deadline(fault):
    error, seconds, _receiver = deliver_against(fault)

    assert isinstance(error, TransientError) and "Timeout" in str(error)
    assert TIMEOUT <= seconds < TIMEOUT + 0.3  # the trickle would last 2 s and more


def test_answers_within_the_deadline_are_not_cut_later():
    with FaultyReceiver() as receiver:
        target = WebhookTarget(url=receiver.url, secret=SECRET, timeout=0.2)
        first = target.deliver(MOVEMENT)
        time.sleep(0.3)  # past the first call's deadline: its watchdog is gone
        second = target.deliver(MOVEMENT)

    assert first.startswith("200") and second.startswith("200")
    assert receiver.tries[MOVEMENT.key] == 2


def test_an_address_requests_cannot_use_is_a_transient_error():
    with pytest.raises(TransientError, match="InvalidSchema"):
        http_send(requests.Session(), "POST", "library.example/epayment", timeout=TIMEOUT)


def test_calls_at_once_in_several_threads_each_end_at_their_own_deadline():
    timeouts = [0.6, 0.3, 0.45]
    ended = {}

    def deliver(timeout):
        ended[timeout] = deliver_against("trickle", timeout=timeout)[1]

    threads = [threading.Thread(target=deliver, args=[timeout]) for timeout in timeouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    for timeout in timeouts:
        assert timeout <= ended[timeout] < timeout + 0.2
