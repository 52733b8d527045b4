"""Koha target: books movements through Koha's REST API (/api/v1).

Koha is described by its own OpenAPI document (koha-community/Koha, api/v1/swagger/); the
tests check every request against the parts of it kept in tests/library_systems/specs/.

What is sent (patron = ``movement.patron_external_id`` = Koha's patron_id / borrowernumber,
fee id = Koha account line id):

- payment: one credit of type PAYMENT per fee, ``POST /patrons/{id}/account/credits`` with
  ``account_lines_ids: [fee]`` so Koha pays exactly that line with exactly that share. Money
  not tied to a Koha fee (the unassigned part, shares without a fee id) goes in one more
  PAYMENT credit without lines: Koha applies it to the patron's outstanding debits or keeps
  it as credit, which is what the portal's own settlement does with it.
- reversal (chargeback, the fees are owed again): Koha's API cannot re-open a paid line, so
  the debt is booked again as new debits, ``POST /patrons/{id}/account/debits`` of type
  MANUAL, one per fee (and one for the part that was not tied to a fee).
- refund (money paid back to the patron): one debit of type PAYOUT for the amount, Koha's
  own notion of paying credit out. It offsets the patron's credit when Koha reconciles the
  account (AccountAutoReconcile) or when staff apply it.

Koha has no idempotency key. Every line we write carries ``[<movement key> <part>]`` in its
internal note; before writing, the adapter lists the patron's credits (or debits) whose note
contains the key and writes only the parts not found, so a retry after a timeout never
books a part twice.

Authentication: HTTP Basic with LIBRARY_SYSTEM_USER / LIBRARY_SYSTEM_PASSWORD (Koha's
RESTBasicAuth preference), or OAuth2 client credentials when LIBRARY_SYSTEM_API_KEY is set
(LIBRARY_SYSTEM_USER is then the client id, the API key the client secret).
Each line carries the library_id (branch code) of the money's owner (fees.models.Owner,
whose code is the Koha branch); the default owner's lines carry LIBRARY_SYSTEM_LIBRARY,
when set.

Amounts go out as JSON numbers built from the exact decimal of the cents (see
``base.amount_number``: below 10**13 cents the text Koha reads is exactly the decimal).
"""

import json
import time

import requests
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from payments.library_systems.base import (
    KIND_LABELS,
    Movement,
    PermanentError,
    TransientError,
    amount_number,
    fee_amounts,
    http_send,
    json_answer,
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

REVERSAL_DEBIT_TYPE = "MANUAL"
REFUND_DEBIT_TYPE = "PAYOUT"


def _money(cents: int) -> float:
    if not 0 < cents < 10**13:
        raise PermanentError(f"Amount of {cents} cents cannot be sent to Koha.")
    return amount_number(cents)


def _line_id(fee_id: str) -> int:
    if not fee_id.isdigit():
        raise PermanentError(f"Fee id {fee_id!r} is not a Koha account line id.")
    return int(fee_id)


# Lines per page when reading back what an earlier attempt wrote.
LISTING_PAGE_SIZE = 100


class KohaTarget:
    name = "koha"

    def __init__(
        self,
        *,
        url: str,
        user: str = "",
        password: str = "",
        client_secret: str = "",
        library_id: str = "",
        timeout: float = 10,
        session: requests.Session | None = None,
    ):
        self.api = url.rstrip("/").removesuffix("/api/v1") + "/api/v1"
        self.user = user
        self.password = password
        self.client_secret = client_secret
        self.library_id = library_id
        self.timeout = timeout
        self.session = session or requests.Session()
        self._token = ""
        self._token_expires = 0.0

    def deliver(self, movement: Movement) -> str:
        patron = movement.patron_external_id
        if not patron.isdigit():
            raise PermanentError(
                f"Movement {movement.key}: no Koha patron id (patron_external_id is "
                f"{patron!r}); book it in Koha by hand."
            )
        if movement.kind == "payment":
            kind, make, parts = "credits", self._credit, self._parts(movement)
        elif movement.kind == "reversal":
            kind, make, parts = "debits", self._reversal_debit, self._parts(movement)
        elif movement.kind == "refund":
            # Koha cannot tie a payout to the fees it came from; the amount is what counts.
            kind, make, parts = (
                "debits",
                self._refund_debit,
                [("payout", None, movement.amount_cents)],
            )
        else:
            raise PermanentError(f"Unknown movement kind {movement.kind!r}.")

        done = self._written_parts(patron, kind, movement.key)
        written = []
        for part, line, cents in parts:
            if part in done:
                continue
            body = make(movement, self._note(movement, part), line, cents)
            response = self._send("POST", f"/patrons/{patron}/account/{kind}", json=body)
            written.append(str(json_answer(response).get("account_line_id", "?")))
        note = f"Koha patron {patron}: {len(written)} {kind} written"
        if written:
            note += f" (lines {', '.join(written)})"
        if len(written) < len(parts):
            note += f", {len(parts) - len(written)} already there"
        return note

    # --- reading ---------------------------------------------------------------------

    def read_account(self, external_id: str) -> LibraryAccount:
        """GET /patrons/{id}/account (its outstanding debits) and GET /patrons/{id}. A line
        the portal wrote (a chargeback's debit, marked in its internal note) counts towards
        the fee it re-creates."""
        if not external_id.isdigit():
            raise PermanentError(f"{external_id!r} is not a Koha patron id.")
        where = f"Koha patron {external_id}"
        budget = Budget(self.timeout)  # both calls together, not each
        account = self._send("GET", f"/patrons/{external_id}/account", timeout=budget.left())
        account = record_of(read_json(account), where)
        debits = record_of(account.get("outstanding_debits") or {}, f"{where}: outstanding_debits")
        lines = debits.get("lines") or []
        if not isinstance(lines, list):
            raise MalformedAnswer(f"{where}: outstanding_debits.lines is not a list")
        tally = FeeTally()
        for index, line in enumerate(lines):
            line = record_of(line, f"{where}: line {index}")
            line_id = text_of(line, "account_line_id", f"{where}: line {index}", required=True)
            tally.add(
                line_id,
                cents_of(line.get("amount_outstanding"), f"{where}: line {line_id}"),
                line.get("internal_note"),
                external_type=text_of(line, "debit_type", where),
                owner_code=text_of(line, "library_id", where),
                description=text_of(line, "description", where),
            )
        patron = self._send("GET", f"/patrons/{external_id}", timeout=budget.left())
        patron = record_of(read_json(patron), where)
        return LibraryAccount(
            patron=PatronRecord(
                external_id=external_id,
                card_number=text_of(patron, "cardnumber", where),
                first_name=text_of(patron, "firstname", where),
                last_name=text_of(patron, "surname", where),
                email=text_of(patron, "email", where),
            ),
            fees=tally.fees(),
        )

    # --- signing in ---------------------------------------------------------------------

    def check_pin(self, card_number: str, pin: str) -> str:
        """``POST /auth/password/validation`` with the card as the identifier (Koha tries it
        as a user id, then as a card number): 201 names the patron, 400 is a wrong password
        or an unknown patron. The portal's API user needs the ``borrowers`` permission."""
        try:
            response = self._send(
                "POST", "/auth/password/validation",
                json={"identifier": card_number, "password": pin},
            )  # fmt: skip
        except PermanentError as error:
            if error.status == 400:
                raise PinRefused from None
            raise
        answer = record_of(read_json(response), "Koha's password validation")
        patron_id = text_of(answer, "patron_id", "Koha's password validation", required=True)
        if not patron_id.isdigit():
            raise MalformedAnswer(f"Koha's password validation: patron_id {patron_id!r}")
        return patron_id

    # --- writing -----------------------------------------------------------------------

    def _parts(self, movement: Movement) -> list[tuple[str, int | None, int]]:
        """(part name, Koha account line, cents) for each line to write."""
        per_line, loose = fee_amounts(movement, _line_id)
        parts: list[tuple[str, int | None, int]] = [
            (f"fee {line}", line, cents) for line, cents in per_line.items()
        ]
        if loose:
            parts.append(("no fee", None, loose))
        return parts

    @staticmethod
    def _note(movement: Movement, part: str) -> str:
        return f"{KIND_LABELS[movement.kind]} {movement.reference} [{movement.key} {part}]"

    def _credit(self, movement: Movement, note: str, line: int | None, cents: int) -> dict:
        body = {
            "credit_type": "PAYMENT",
            "amount": _money(cents),
            "date": timezone.localdate(movement.booked_at).isoformat(),
            "description": f"ePayment {movement.reference} ({movement.method})",
            "note": note,
        }
        if line is not None:
            body["account_lines_ids"] = [line]
        if library_id := movement.owner_code or self.library_id:
            body["library_id"] = library_id
        return body

    def _debit(self, movement: Movement, note: str, cents: int, debit_type: str) -> dict:
        body = {
            "type": debit_type,
            "amount": _money(cents),
            "date": movement.booked_at.isoformat(),
            "internal_note": note,
        }
        if library_id := movement.owner_code or self.library_id:
            body["library_id"] = library_id
        return body

    def _reversal_debit(self, movement: Movement, note: str, line: int | None, cents: int):
        return self._debit(movement, note, cents, REVERSAL_DEBIT_TYPE)

    def _refund_debit(self, movement: Movement, note: str, line: int | None, cents: int):
        return self._debit(movement, note, cents, REFUND_DEBIT_TYPE)

    def _written_parts(self, patron: str, kind: str, key: str) -> set[str]:
        # The -like filter only narrows the list; the exact marker is compared here, since
        # % and _ in a key would be wildcards to the database.
        query = json.dumps({"internal_note": {"-like": f"%[{key} %"}})
        done = set()
        for line in self._all_lines(patron, kind, query):
            note = (line.get("internal_note") if isinstance(line, dict) else None) or ""
            start = note.find(f"[{key} ")
            if start >= 0 and note.endswith("]"):
                done.add(note[start + len(key) + 2 : -1])
        return done

    def _all_lines(self, patron: str, kind: str, query: str):
        """Every line of the listing, page by page: a movement can have more fee lines than
        one page holds, and a line missed here would be written twice."""
        page = 1
        while True:
            response = self._send(
                "GET",
                f"/patrons/{patron}/account/{kind}",
                params={"q": query, "_page": page, "_per_page": LISTING_PAGE_SIZE},
            )
            lines = json_answer(response)
            if not isinstance(lines, list):
                raise TransientError(
                    f"Koha listed the patron's {kind} as something else than a list."
                )
            yield from lines
            if len(lines) < LISTING_PAGE_SIZE:
                return
            page += 1

    def _send(self, method: str, path: str, timeout=None, **kwargs) -> requests.Response:
        return http_send(
            self.session,
            method,
            self.api + path,
            timeout=timeout or self.timeout,
            headers=self._auth_headers(),
            auth=None if self.client_secret else (self.user, self.password),
            **kwargs,
        )

    def _auth_headers(self) -> dict:
        headers = {"Accept": "application/json"}
        if not self.client_secret:
            return headers
        # Koha's tokens last an hour; a fresh one is fetched a minute before that.
        if not self._token or time.monotonic() > self._token_expires:
            response = http_send(
                self.session,
                "POST",
                self.api + "/oauth/token",
                timeout=self.timeout,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.user,
                    "client_secret": self.client_secret,
                },
            )
            answer = json_answer(response)
            if not answer.get("access_token"):
                raise PermanentError("Koha answered the token request without a token.")
            self._token = answer["access_token"]
            self._token_expires = time.monotonic() + int(answer.get("expires_in", 3600)) - 60
        headers["Authorization"] = f"Bearer {self._token}"
        return headers


def from_settings(config: SystemConfig | None = None) -> KohaTarget:
    config = config or SystemConfig.portal()
    if not config.url:
        raise ImproperlyConfigured(f"The Koha target needs {config.setting('url')}.")
    if not config.user or not (config.password or config.api_key):
        raise ImproperlyConfigured(
            f"The Koha target needs {config.setting('user')} and {config.setting('password')} "
            f"(Basic auth) or {config.setting('user')} and {config.setting('api_key')} (OAuth2 "
            "client id and secret)."
        )
    return KohaTarget(
        url=config.url,
        user=config.user,
        password=config.password,
        client_secret=config.api_key,
        library_id=config.library,
        timeout=config.timeout,
    )
