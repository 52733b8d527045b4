"""Alma target: books movements through the Alma users API's fines and fees.

Ex Libris publishes no machine-readable description of these calls that could be fetched
here; the adapter follows the Developer Network pages, and the tests check each request
against the parameters they document:

- Pay/waive/dispute/restore user fine/fee, POST /almaws/v1/users/{user_id}/fees/{fee_id}:
  https://developers.exlibrisgroup.com/alma/apis/docs/users/UE9TVCAvYWxtYXdzL3YxL3VzZXJzL3t1c2VyX2lkfS9mZWVzL3tmZWVfaWR9/
- Pay user fines/fees, POST /almaws/v1/users/{user_id}/fees/all:
  https://developers.exlibrisgroup.com/alma/apis/docs/users/UE9TVCAvYWxtYXdzL3YxL3VzZXJzL3t1c2VyX2lkfS9mZWVzL2FsbA==/
- Create user fine/fee, POST /almaws/v1/users/{user_id}/fees:
  https://developers.exlibrisgroup.com/alma/apis/docs/users/UE9TVCAvYWxtYXdzL3YxL3VzZXJzL3t1c2VyX2lkfS9mZWVz/
- Get user fines/fees and Get user fine/fee, GET .../fees and .../fees/{fee_id}:
  https://developers.exlibrisgroup.com/alma/apis/docs/users/R0VUIC9hbG1hd3MvdjEvdXNlcnMve3VzZXJfaWR9L2ZlZXM=/
  https://developers.exlibrisgroup.com/alma/apis/docs/users/R0VUIC9hbG1hd3MvdjEvdXNlcnMve3VzZXJfaWR9L2ZlZXMve2ZlZV9pZH0=/
- The fee object (rest_fee.xsd):
  https://developers.exlibrisgroup.com/alma/apis/docs/xsd/rest_fee.xsd/
- Get user details, GET /almaws/v1/users/{user_id}, and the user object (rest_user.xsd):
  https://developers.exlibrisgroup.com/alma/apis/docs/users/R0VUIC9hbG1hd3MvdjEvdXNlcnMve3VzZXJfaWR9/
  https://developers.exlibrisgroup.com/alma/apis/docs/xsd/rest_user.xsd/
- Authenticate or refresh user, POST /almaws/v1/users/{user_id}?op=auth (the sign-in's PIN
  check, the password in the Exl-User-Pw header):
  https://developers.exlibrisgroup.com/alma/apis/docs/users/UE9TVCAvYWxtYXdzL3YxL3VzZXJzL3t1c2VyX2lkfQ==/

What is sent (user = ``movement.patron_external_id``, an Alma user identifier; fee id = the
Alma fine/fee id):

- payment: ``op=pay`` on each fee with the share's amount, ``method`` CASH for a movement
  paid in cash and ONLINE otherwise, ``external_transaction_id`` = the movement key. Money
  not tied to an Alma fee (the unassigned part, shares without a fee id) is paid on
  ``fees/all``, with ``external_transaction_id`` = ``<key>-all``; Alma applies it to the
  user's open fees and refuses it (PermanentError) when it exceeds them.
- reversal (chargeback, the fees are owed again) and refund (money paid back): Alma has no
  operation that re-opens a payment, so the debt is created again as a new fee of the same
  type and owner as the paid one (read with GET .../fees/{fee_id}), for the share's amount.
  Money not tied to an Alma fee cannot be re-created that way (the adapter would have to
  invent a fee type and owner); such a movement is refused with a PermanentError before
  anything is written, for staff to book by hand. The portal's refunds pay back credit and
  name no fee, so in Alma every refund waits for staff.

Retries: before paying a fee the adapter reads it and skips it when one of its transactions
already carries the movement key as external_transaction_id (or in its comment); the
``fees/all`` payment is looked for the same way across the user's active and closed fees.
A re-created fee carries ``[<key> fee <id>]`` in its comment and is looked for among the
user's active and closed fees (it may have been paid or waived before the retry). That the
transaction objects Alma returns include ``external_transaction_id`` and ``comment`` is
assumed from rest_fee.xsd; if they do not, a retry after an unknown outcome could pay
twice, so check such deliveries.

Configuration: LIBRARY_SYSTEM_URL (the API gateway, e.g. https://api-eu.hosted.exlibrisgroup.com)
and LIBRARY_SYSTEM_API_KEY (an API key with read/write access to Users).
"""

from collections.abc import Iterator

import requests
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems.base import (
    Movement,
    PermanentError,
    TransientError,
    amount_number,
    amount_text,
    fee_amounts,
    http_send,
    json_answer,
    path_segment,
)
from payments.library_systems.config import SystemConfig
from payments.library_systems.pins import PinRefused
from payments.library_systems.reading import (
    Budget,
    FeeTally,
    LibraryAccount,
    MalformedAnswer,
    PatronRecord,
    cents_of,
    read_json,
    record_of,
    text_of,
)


class AlmaTarget:
    name = "alma"

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        timeout: float = 10,
        session: requests.Session | None = None,
    ):
        self.api = url.rstrip("/").removesuffix("/almaws/v1") + "/almaws/v1"
        self.api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()

    # --- reading ---------------------------------------------------------------------

    def read_account(self, external_id: str) -> LibraryAccount:
        """``GET /users/{id}/fees?status=ACTIVE`` (each fee's balance is what is still owed)
        and ``GET /users/{id}``. A fee the portal created again after a chargeback (marked
        in its comment) counts towards the fee it re-creates."""
        if not external_id:
            raise PermanentError("No Alma user id.")
        where = f"Alma user {external_id}"
        budget = Budget(self.timeout)
        user_path = f"/users/{path_segment(external_id)}"
        answer = self._send("GET", user_path + "/fees", params={"status": "ACTIVE"},
                            timeout=budget.left())  # fmt: skip
        listed = record_of(read_json(answer), where).get("fee") or []
        if not isinstance(listed, list):
            raise MalformedAnswer(f"{where}: fee is not a list")
        tally = FeeTally()
        for index, fee in enumerate(listed):
            fee = record_of(fee, f"{where}: fee {index}")
            fee_id = text_of(fee, "id", f"{where}: fee {index}", required=True)
            fee_type = _code(fee.get("type"))
            tally.add(
                fee_id,
                cents_of(fee.get("balance"), f"{where}: fee {fee_id}"),
                str(fee.get("comment") or ""),
                external_type=fee_type,
                owner_code=_code(fee.get("owner")),
                description=fee_type,
                item=text_of(fee, "title", where),
            )
        user = self._send("GET", user_path, timeout=budget.left())
        user = record_of(read_json(user), where)
        return LibraryAccount(
            patron=PatronRecord(
                external_id=external_id,
                card_number=_barcode(user),
                first_name=text_of(user, "first_name", where),
                last_name=text_of(user, "last_name", where),
                email=_preferred_email(user),
            ),
            fees=tally.fees(),
        )

    # --- signing in ---------------------------------------------------------------------

    def check_pin(self, card_number: str, pin: str) -> str:
        """``POST /users/{card}?op=auth`` with the PIN in the ``Exl-User-Pw`` header ("Authenticate
        or refresh user"): 204 when it is right, 400 when it is not or the user is unknown.
        Only users with an internal password in Alma can be checked so. Then ``GET
        /users/{card}`` for the user's primary id, which the fees calls take."""
        budget = Budget(self.timeout)
        path = f"/users/{path_segment(card_number)}"
        try:
            self._send("POST", path, params={"op": "auth"}, extra_headers={"Exl-User-Pw": pin},
                       timeout=budget.left())  # fmt: skip
        except PermanentError as error:
            if error.status == 400:
                raise PinRefused from None
            raise
        return self._primary_id(card_number, budget)

    def find_patron(self, card_number: str) -> str | None:
        """The primary id of the user with this card (``GET /users/{card}``, which takes
        any of a user's identifiers); None when Alma knows no such user (400)."""
        try:
            return self._primary_id(card_number, Budget(self.timeout))
        except PermanentError as error:
            if error.status == 400:
                return None
            raise

    def _primary_id(self, identifier: str, budget: Budget) -> str:
        path = f"/users/{path_segment(identifier)}"
        user = self._send("GET", path, timeout=budget.left())
        user = record_of(read_json(user), f"Alma user {identifier}")
        return text_of(user, "primary_id", f"Alma user {identifier}", required=True)

    # --- writing -----------------------------------------------------------------------

    def deliver(self, movement: Movement) -> str:
        user = movement.patron_external_id
        if not user:
            raise PermanentError(
                f"Movement {movement.key}: no Alma user id (patron_external_id is empty); "
                "book it in Alma by hand."
            )
        per_fee, loose = fee_amounts(movement)
        if movement.kind == "payment":
            return self._pay(movement, user, per_fee, loose)
        if movement.kind in ("reversal", "refund"):
            if loose:
                raise PermanentError(
                    f"Movement {movement.key}: {amount_text(loose)} {movement.currency} of this "
                    f"{movement.kind} belong to no Alma fee, and Alma cannot re-open a "
                    "payment. Book it in Alma by hand."
                )
            return self._recreate(movement, user, per_fee)
        raise PermanentError(f"Unknown movement kind {movement.kind!r}.")

    def _pay(self, movement: Movement, user: str, per_fee: dict[str, int], loose: int) -> str:
        method = "CASH" if movement.method.lower().startswith("cash") else "ONLINE"
        comment = f"ePayment {movement.reference} ({movement.method})"
        paid, skipped = 0, 0
        for fee_id, cents in per_fee.items():
            fee = self._get(f"/users/{path_segment(user)}/fees/{path_segment(fee_id)}")
            if _carries(fee, movement.key):
                skipped += 1
                continue
            self._post(
                f"/users/{path_segment(user)}/fees/{path_segment(fee_id)}",
                params={
                    "op": "pay",
                    "amount": amount_text(cents),
                    "method": method,
                    "external_transaction_id": movement.key,
                    "comment": f"{comment} [{movement.key}]",
                },
            )
            paid += 1
        note = f"Alma user {user}: {paid} fee(s) paid"
        if skipped:
            note += f", {skipped} already paid"
        if loose:
            all_key = f"{movement.key}-all"
            if self._any_fee_carries(user, all_key):
                note += f"; {amount_text(loose)} on all fees already paid"
            else:
                self._post(
                    f"/users/{path_segment(user)}/fees/all",
                    params={
                        "op": "pay",
                        "amount": amount_text(loose),
                        "method": method,
                        "external_transaction_id": all_key,
                        "comment": f"{comment} [{all_key}]",
                    },
                )
                note += f"; {amount_text(loose)} paid on all fees"
        return note

    def _recreate(self, movement: Movement, user: str, per_fee: dict[str, int]) -> str:
        what = "Chargeback" if movement.kind == "reversal" else "Refund"
        comments = [str(fee.get("comment") or "") for fee in self._user_fees(user)]
        created, skipped = [], 0
        for fee_id, cents in per_fee.items():
            marker = f"[{movement.key} fee {fee_id}]"
            if any(marker in comment for comment in comments):
                skipped += 1
                continue
            original = self._get(f"/users/{path_segment(user)}/fees/{path_segment(fee_id)}")
            fee_type = _code(original.get("type"))
            owner = _code(original.get("owner"))
            if not fee_type or not owner:
                raise PermanentError(
                    f"Alma fee {fee_id} has no type or owner to re-create it with."
                )
            response = self._post(
                f"/users/{path_segment(user)}/fees",
                json={
                    "type": {"value": fee_type},
                    "original_amount": amount_number(cents),
                    "owner": {"value": owner},
                    "comment": (
                        f"{what} of ePayment {movement.reference}: fee {fee_id} owed again {marker}"
                    ),
                },
            )
            created.append(str(json_answer(response).get("id", "?")))
        note = f"Alma user {user}: {len(created)} fee(s) created again"
        if created:
            note += f" ({', '.join(created)})"
        if skipped:
            note += f", {skipped} already there"
        return note

    def _any_fee_carries(self, user: str, key: str) -> bool:
        return any(_carries(fee, key) for fee in self._user_fees(user))

    def _user_fees(self, user: str) -> Iterator[dict]:
        """The user's active fees, then (read only when asked for) the closed ones."""
        for status in ("ACTIVE", "CLOSED"):
            answer = self._get(f"/users/{path_segment(user)}/fees", params={"status": status})
            yield from _fees(answer)

    def _get(self, path: str, **kwargs) -> dict:
        response = self._send("GET", path, **kwargs)
        answer = json_answer(response)
        if not isinstance(answer, dict):
            raise TransientError(f"Alma answered GET {path} with {response.text[:200]!r}")
        return answer

    def _post(self, path: str, **kwargs) -> requests.Response:
        return self._send("POST", path, **kwargs)

    def _send(
        self, method: str, path: str, timeout=None, extra_headers=None, **kwargs
    ) -> requests.Response:
        headers = {"Authorization": f"apikey {self.api_key}", "Accept": "application/json"}
        headers.update(extra_headers or {})
        return http_send(
            self.session, method, self.api + path, timeout=timeout or self.timeout,
            headers=headers, **kwargs,
        )  # fmt: skip


def _code(value) -> str:
    """Alma writes coded fields as {"value": ..., "desc": ...}."""
    if isinstance(value, dict):
        return str(value.get("value") or "")
    return str(value or "")


def _barcode(user: dict) -> str:
    """The user's barcode among its identifiers (rest_user.xsd: user_identifier)."""
    for identifier in user.get("user_identifier") or []:
        if isinstance(identifier, dict) and _code(identifier.get("id_type")) == "BARCODE":
            return str(identifier.get("value") or "")
    return ""


def _preferred_email(user: dict) -> str:
    emails = ((user.get("contact_info") or {}).get("email")) or []
    emails = [email for email in emails if isinstance(email, dict)]
    preferred = next((email for email in emails if email.get("preferred")), None)
    chosen = preferred or (emails[0] if emails else {})
    return str(chosen.get("email_address") or "")


def _fees(answer: dict) -> list[dict]:
    fees = answer.get("fee") or []
    return [fee for fee in fees if isinstance(fee, dict)]


def _carries(fee: dict, key: str) -> bool:
    transactions = (fee.get("transactions") or {}).get("transaction") or []
    for transaction in transactions:
        if not isinstance(transaction, dict):
            continue
        if transaction.get("external_transaction_id") == key:
            return True
        if f"[{key}]" in str(transaction.get("comment") or ""):
            return True
    return False


def from_settings(config: SystemConfig | None = None) -> AlmaTarget:
    config = config or SystemConfig.portal()
    if not config.url or not config.api_key:
        raise ImproperlyConfigured(
            f"The Alma target needs {config.setting('url')} (the API gateway) and "
            f"{config.setting('api_key')}."
        )
    return AlmaTarget(
        url=config.url,
        api_key=config.api_key,
        timeout=config.timeout,
    )
