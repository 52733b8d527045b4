"""What the portal tells a library system, and what a target must do with it.

Every booking of money (a payment, a payment's reversal after a chargeback, a refund)
is one Movement. A target delivers it to one kind of library system; the worker
(`manage.py deliver`) calls `deliver` until it succeeds or fails for good.
"""

import datetime
import http.client
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

import requests
import urllib3
from django.utils.translation import gettext as _

from payments.library_systems.deadline import Deadline


class TransientError(Exception):
    """Try again later: the library system is down, slow, or answered 5xx / 429."""


class PermanentError(Exception):
    """The library system refused the movement (4xx): retrying will not help; staff decide.
    `status` is the HTTP status it answered, when it was one."""

    def __init__(self, message: str = "", *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FeeShare:
    """The part of a movement that goes to one fee."""

    entry_id: int  # the fee's journal entry in the portal
    fee_id: str  # the fee's id in the library system ("" for a fee it did not send)
    fee_type: str  # the library system's fee type code ("" when unknown)
    amount_cents: int  # positive


@dataclass(frozen=True)
class Movement:
    key: str  # idempotency key: the same for every attempt of the same booking
    kind: str  # "payment", "reversal" or "refund"
    entry_id: int
    booked_at: datetime.datetime
    amount_cents: int  # positive: how much money moved
    currency: str
    method: str  # "cash", "online: card", ...
    reference: str  # the payment order's reference, or the reporting system's id
    patron_user_number: str
    patron_external_id: str  # the patron's id in the library system ("" when unknown)
    shares: tuple[FeeShare, ...]  # what it pays (or, for a reversal, re-opens) per fee
    unassigned_cents: int  # the part for no known fee: the patron's credit
    reverses_entry_id: int | None = None  # a reversal: the payment it takes back
    # Whose money it is, by the owner's code (Koha's library_id, FOLIO's owner, Alma's
    # owner); "" for the default owner's, which targets name by their own setting.
    owner_code: str = ""
    # Where the owner books online payments in the library system, when it says (FOLIO:
    # its service point and its fee/fine owner's payment method); "" for the target's own.
    owner_service_point: str = ""
    owner_payment_method: str = ""


# How a library system's notes name each kind of movement.
KIND_LABELS = {"payment": "ePayment", "reversal": "Chargeback of ePayment", "refund": "Refund"}


class Target(Protocol):
    name: str

    def deliver(self, movement: Movement) -> str:
        """Send the movement; return a short note of what the library system answered.

        Raise TransientError or PermanentError when it did not take it.
        """
        ...


# Everything that can go wrong between sending a request and having its whole answer: the
# connection refused, reset or cut off mid-answer, a body that does not decode, a timeout.
TRANSPORT_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


def http_send(session: requests.Session, method: str, url: str, *, timeout: float, **kwargs):
    """One HTTP call with failures sorted into transient and permanent ones.

    The whole call, the answer's last byte included, must be over within `timeout` seconds.
    Redirects are not followed: requests would repeat a POST as a GET without its body,
    and take the GET's 200 for the delivery."""
    watch = Deadline(timeout)
    try:
        with watch.over(session, url):
            response = session.request(
                method, url, timeout=timeout, allow_redirects=False, **kwargs
            )
    except TRANSPORT_ERRORS as error:
        if watch.passed:
            raise TransientError(too_slow(method, url, timeout)) from error
        raise TransientError(f"{method} {url}: {error.__class__.__name__}: {error}") from error
    if watch.passed:  # a body read up to the connection's end, cut short by the deadline
        raise TransientError(too_slow(method, url, timeout))
    if 300 <= response.status_code < 400:
        raise PermanentError(
            _(
                "%(call)s: answered %(status)s, a redirect to %(location)s. Redirects are "
                "not followed: check the library system's address (LIBRARY_SYSTEM_URL)."
            )
            % {
                "call": f"{method} {url}",
                "status": response.status_code,
                "location": response.headers.get("Location") or _("(no address given)"),
            }
        )
    if response.status_code >= 500 or response.status_code in (408, 425, 429):
        raise TransientError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    if response.status_code >= 400:
        raise PermanentError(
            f"{method} {url}: {response.status_code} {response.text[:300]}",
            status=response.status_code,
        )
    return response


def too_slow(method: str, url: str, timeout: float) -> str:
    return _("%(call)s: Timeout: no complete answer within %(seconds)s s.") % {
        "call": f"{method} {url}",
        "seconds": f"{timeout:g}",
    }


def json_answer(response: requests.Response):
    """The answer's JSON; an answer that is not JSON is taken for a passing fault."""
    try:
        return response.json()
    except ValueError as error:
        raise TransientError(
            f"{response.request.method} {response.url}: answer is not JSON: {response.text[:200]!r}"
        ) from error


def path_segment(value: str) -> str:
    """The value quoted as one segment of a URL path ("/" included)."""
    return requests.utils.quote(value, safe="")


def amount_text(cents: int) -> str:
    """The amount as a decimal with two places: 1999 -> "19.99"."""
    return str(Decimal(cents).scaleb(-2))


def amount_number(cents: int) -> float:
    """The amount as a JSON number. Any amount below 10**13 cents has at most 15 significant
    digits, which a double keeps and prints back unchanged, so the library system reads
    exactly the decimal."""
    return float(Decimal(cents).scaleb(-2))


FeeKey = TypeVar("FeeKey")


def fee_amounts(
    movement: Movement, fee_key: Callable[[str], FeeKey] = str
) -> tuple[dict[FeeKey, int], int]:
    """The cents for each fee the library system knows (shares with a fee id, added up per
    ``fee_key(fee_id)``, which may refuse an id with a PermanentError), and the rest of the
    movement's amount, which is for no fee. Shares exceeding the amount are refused."""
    per_fee: dict[FeeKey, int] = {}
    for share in movement.shares:
        if share.fee_id:
            fee = fee_key(share.fee_id)
            per_fee[fee] = per_fee.get(fee, 0) + share.amount_cents
    loose = movement.amount_cents - sum(per_fee.values())
    if loose < 0:
        raise PermanentError(
            f"Movement {movement.key}: its fee shares exceed its amount; not sent."
        )
    return per_fee, loose
